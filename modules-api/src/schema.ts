/** The JSON Schema of modules.json, shipped as modules-api/modules.schema.json for editors. */
import schema from '../modules.schema.json';

/** MODULES_SCHEMA is the JSON Schema (draft-07) of an operator's modules.json. */
export const MODULES_SCHEMA: Record<string, unknown> = schema;
