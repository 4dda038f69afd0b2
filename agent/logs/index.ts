/**
 * Container logs: reading CRI (and Docker json-file) log files with kubelet's options —
 * follow (with rotation), tailLines, since, timestamps, limitBytes — and deciding which
 * container a log request means. Code outside `agent/logs/` imports from here only.
 */
export { readLogs, LogReadError, type ReadLogsOptions, type LogReadOptions } from './reader.js';
export { parseLogLine, parseCriLine, parseDockerJsonLine, parseLogTime, isFullLine, LogParseError, type LogMessage, type LogStream, type LogTime } from './parse.js';
export { findTailStart } from './tail.js';
export { parsePodLogOptions, toReadOptions, LogOptionsError, type PodLogOptions } from './options.js';
export { resolveLogContainer, type LogContainer } from './container-status.js';
