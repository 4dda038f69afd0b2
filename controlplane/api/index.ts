/**
 * API semantics of the companion apiserver as pure functions: defaulting, validation,
 * unknown-field detection (strict field validation), patch application, field-selector
 * attributes and server-side Table printing. The registry (`controlplane/registry`) calls
 * these; nothing here does I/O or keeps state.
 */
export { applyDefaults, computeQosClass, defaultImagePullPolicy, defaultPodSpec, type DefaultsOptions } from './defaults.js';
export {
  validateObject, validateName, invalidStatus, invalidError, qualifiedKindOf, POD_UPDATE_FORBIDDEN,
  type FieldError, type FieldErrorType,
} from './validation.js';
export {
  findUnknownFields, unknownFieldMessages, strictDecodingErrorMessage, unknownFieldsError, type UnknownFieldOptions,
} from './unknown-fields.js';
export { applyPatch, applyJsonPatch, applyMergePatch, applyStrategicMergePatch, type JsonPatchOperation } from './patch.js';
export {
  selectableFields, allowedFieldSelectors, unknownFieldSelectorMessage, compileFieldSelector, matchesFieldSelector,
} from './field-attrs.js';
export {
  toTable, tableColumns, humanDuration, translateTimestampSince, podStatusCells, formatServicePorts, formatLabels,
  type TableOptions, type Table, type TableColumn, type TableRow, type TableRowCondition,
} from './table.js';
export { schemaForType, kindSchemaName, getType, type ObjectSchema, type FieldSchema, type FieldType } from './schema/index.js';
export { parseQuantity } from './quantity.js';
