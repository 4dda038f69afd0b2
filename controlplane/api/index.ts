/**
 * API semantics of the companion apiserver as pure functions: defaulting, validation,
 * unknown-field detection (strict field validation), patch application, field-selector
 * attributes and server-side Table printing. The registry (`controlplane/registry`) calls
 * these; nothing here does I/O or keeps state.
 */
export { applyDefaults } from './defaults.js';
export { validateObject, type FieldError, type FieldErrorType } from './validation.js';
export { findUnknownFields } from './unknown-fields.js';
export { applyPatch } from './patch.js';
export { selectableFields } from './field-attrs.js';
export { toTable, type TableOptions } from './table.js';
