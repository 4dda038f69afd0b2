/**
 * The proxy's IP address helpers; they live in `lib/net/ip.ts`, shared with the control plane.
 */
export * from '../../lib/net/ip.js';
