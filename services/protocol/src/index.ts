export * from './frame.js';
export * from './topics.js';
export * from './status.js';
export * from './viewer-wire.js';
export * from './config.js';
export * from './mqtt-options.js';
export * from './newest-wins.js';
export * from './control.js';
