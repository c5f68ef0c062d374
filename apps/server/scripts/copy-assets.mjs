// Copies non-TypeScript files that the server reads at run time into dist/.
import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
cpSync(`${root}src/db/migrations`, `${root}dist/db/migrations`, { recursive: true });
