/** Unit parsing shared by configs and the API: Go durations and resource quantities. */
export * from './duration.js';
export * from './quantity.js';
