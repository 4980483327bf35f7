/** The seeded generator lives in the runtime (ops and layers draw from it too); the data sets take it from here. */
export { Random, type RandomState } from '../runtime/random.js';
