export * from './emulators.js';
export * from './poller.js';
export * from './recovery.js';
export * from './server.js';
export * from './stack.js';
export * from './ttl-sweeper.js';
