export * from './errors.js';
export * from './posts.js';
export * from './workspaces.js';
export * from './imports.js';
export * from './import-json-schema.js';
export * from './auth.js';
export * from './text.js';
export * from './analyses.js';
