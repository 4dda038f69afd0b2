/**
 * Proxy errors. An nft failure carries nft's stderr, the statement that failed and its line
 * in the transaction, so a log line says exactly what the kernel refused.
 */
import { SkiffError, hasCode } from '../../lib/errors.js';

/** The error code of {@link NftError}. */
export const NFT_ERROR = 'SKIFF_NFT_ERROR';

/** The errno-like reason nft reported, when recognizable. */
export type NftErrno = 'ENOENT' | 'EEXIST' | 'EBUSY' | 'EINVAL' | 'ELOOP' | 'EOPNOTSUPP' | 'SYNTAX';

/** Details of an {@link NftError}. */
export interface NftErrorDetails {
  cause?: unknown;
  /** nft's standard error output, verbatim. */
  stderr?: string;
  /** nft's exit status, null when it was killed. */
  exitCode?: number | null;
  /** 1-based line of the transaction that failed, when nft said so. */
  line?: number;
  /** The text of that line. */
  statement?: string;
  /** The errno-like reason. */
  errno?: NftErrno;
}

/** nft (or the fake) refused a transaction or a listing. Nothing of the transaction was applied. */
export class NftError extends SkiffError {
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly line?: number;
  readonly statement?: string;
  readonly errno?: NftErrno;

  constructor(message: string, details: NftErrorDetails = {}) {
    super(NFT_ERROR, message, { cause: details.cause });
    this.stderr = details.stderr ?? '';
    this.exitCode = details.exitCode ?? null;
    this.line = details.line;
    this.statement = details.statement;
    this.errno = details.errno;
  }
}

/** True for an {@link NftError} anywhere in the cause chain. */
export function isNftError(err: unknown): err is NftError {
  return err instanceof NftError || hasCode(err, NFT_ERROR);
}

/** True when nft said a referenced object does not exist (ENOENT). */
export function isNftNotFound(err: unknown): boolean {
  let e: unknown = err;
  for (let d = 0; e && d < 16; d++) {
    if (e instanceof NftError) return e.errno === 'ENOENT';
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Maps the wording of nft/kernel errors to an errno-like reason. */
export function errnoFromMessage(msg: string): NftErrno | undefined {
  if (/No such file or directory/.test(msg)) return 'ENOENT';
  if (/File exists/.test(msg)) return 'EEXIST';
  if (/Device or resource busy/.test(msg)) return 'EBUSY';
  if (/Too many levels of symbolic links/.test(msg)) return 'ELOOP';
  if (/Operation not supported/.test(msg)) return 'EOPNOTSUPP';
  if (/syntax error/.test(msg)) return 'SYNTAX';
  if (/Invalid argument|datatype mismatch/.test(msg)) return 'EINVAL';
  return undefined;
}
