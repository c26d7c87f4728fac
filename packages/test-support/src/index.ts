export * from './service-process.js';
export * from './loopback-broker.js';
export * from './test-broker.js';
export * from './stack.js';
export * from './viewer-page.js';
export * from './wait.js';
export * from './cameras.js';
export * from './frame-stamp.js';
