/** The errors the access hooks (access-hooks.ts) hand Aedes when they refuse a login or a publish. */
import type { AuthenticateError, AuthErrorCode } from 'aedes';

/**
 * CONNACK return codes (MQTT 3.1.1 table 3.1). Aedes declares them as an ambient const enum, which
 * code compiled one module at a time (verbatimModuleSyntax, tsx) cannot read at run time.
 */
export const IDENTIFIER_REJECTED = 2 as unknown as AuthErrorCode;
export const SERVER_UNAVAILABLE = 3 as unknown as AuthErrorCode;
export const BAD_USERNAME_OR_PASSWORD = 4 as unknown as AuthErrorCode;
export const NOT_AUTHORIZED = 5 as unknown as AuthErrorCode;

/** Our refusals, so the client-error log can tell them from protocol errors it must report. */
export class LoginRefusedError extends Error implements AuthenticateError {
  override name = 'LoginRefusedError';
  constructor(
    message: string,
    readonly returnCode: AuthErrorCode,
  ) {
    super(message);
  }
}

export class PublishRefusedError extends Error {
  override name = 'PublishRefusedError';
}
