import { readFileSync } from 'node:fs';
import { narrate } from '@incident-pilot/core';
import { checkRewording } from '@incident-pilot/sinks';
const inc = JSON.parse(readFileSync('/tmp/scen.json', 'utf8'));
inc.alerts = [];
const t = narrate(inc);
for (const f of process.argv.slice(2)) console.log(f, checkRewording(inc, t, readFileSync(f, 'utf8')));
