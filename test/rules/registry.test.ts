import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Rule, rules } from '@incident-pilot/core';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '../../packages/core/src/rules');
// The registry itself and the shared helpers are the only non-rule files allowed in the folder.
const NOT_RULES = new Set(['registry.ts', 'util.ts']);
const ruleFiles = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !NOT_RULES.has(f))
  .sort();
const idOf = (file: string) => file.replace(/\.ts$/, '');

const isRule = (value: unknown): value is Rule =>
  typeof value === 'object' && value !== null && 'id' in value && 'evaluate' in value;

describe('rule registry', () => {
  it('lists exactly the rule files in the rules folder', () => {
    const registered = rules.map((r) => r.id).sort();

    expect(registered).toEqual(ruleFiles.map(idOf));
  });

  it('has no duplicate ids', () => {
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
  });

  it.each(ruleFiles)('%s exports one rule, named after the file, and it is the registered one', async (file) => {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;

    const exported = Object.values(module).filter(isRule);

    expect(exported).toHaveLength(1);
    expect(exported[0]?.id).toBe(idOf(file));
    expect(exported[0]?.description.length).toBeGreaterThan(0);
    expect(rules).toContain(exported[0]);
  });

  it.each(ruleFiles)('%s imports no other rule', (file) => {
    const source = readFileSync(join(dir, file), 'utf8');

    const local = [...source.matchAll(/from '\.\/([^']+)'/g)].map((m) => m[1]);

    expect(local.filter((path) => path !== 'util.js')).toEqual([]);
  });
});
