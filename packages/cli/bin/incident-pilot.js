#!/usr/bin/env node
// Runs the TypeScript sources through tsx: the CLI is a developer tool, never bundled.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
