/**
 * The stdout sink: the templated narration, one block per event, for local runs and CloudWatch.
 */
import { type IncidentEvent, narrate, narrateResolution, narrateUpdate, type Sink } from '@incident-pilot/core';
import { sanitizeText } from './escape.js';

export interface StdoutSinkOptions {
  /** Receives one string per event. */
  write?: (text: string) => unknown;
  /** Turns an event into text; defaults to the core narration templates. */
  render?: (event: IncidentEvent) => string;
  name?: string;
}

/** The core templates: the report when opened, what changed when updated, the follow-up when resolved. */
export function renderNarration(event: IncidentEvent): string {
  switch (event.type) {
    case 'opened':
      return narrate(event.incident);
    case 'updated':
      return narrateUpdate(event.incident, event.changes ?? [], event.revision);
    case 'resolved':
      return narrateResolution(event.incident);
  }
}

const RULE_WIDTH = 72;

/** `──── incident-pilot · OPENED · inc-… ────────`: easy to spot between interleaved log lines. */
export function separatorLine(event: IncidentEvent): string {
  const label = ` incident-pilot · ${event.type.toUpperCase()} · ${event.incident.id.replace(/\s+/g, ' ')} `;
  return `────${label}${'─'.repeat(Math.max(4, RULE_WIDTH - 4 - label.length))}`;
}

/** A `Sink` writing a separator line and the rendered narration, in a single `write` per event. */
export function createStdoutSink({
  write = (text) => process.stdout.write(text),
  render = renderNarration,
  name = 'stdout',
}: StdoutSinkOptions = {}): Sink {
  return {
    name,
    async deliver(event) {
      // Untrusted strings reach a terminal here: control characters (ANSI escapes) must not act.
      const body = sanitizeText(`${separatorLine(event)}\n${render(event).trimEnd()}\n`);
      await write(body);
    },
  };
}
