/**
 * Quantities as the API validates them; the parser lives in `lib/units` (one home for the
 * agent and the control plane). `parseQuantity` here is the non-throwing form.
 */
export { QUANTITY_REGEX, isQuantity, tryParseQuantity as parseQuantity } from '../../lib/units/quantity.js';
