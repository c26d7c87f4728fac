/**
 * Who a request or connection was let in as, and what that viewer may do: watch always, control
 * cameras when VIEWER_CONTROL and VIEWER_CONTROL_USERS allow it.
 */

export interface ViewerIdentity {
  /** The VIEWER_USERS_FILE account; undefined for the shared password or when there is no login. */
  readonly user: string | undefined;
  /** May send control commands (hello.canControl, POST /api/cameras/<id>/control). */
  readonly canControl: boolean;
  /** False once the account has been removed from the file or its password changed. */
  stillValid(): boolean;
}

/** For a request that somehow skipped the guard while a login is required: watch, never control. */
export const NOBODY: ViewerIdentity = { user: undefined, canControl: false, stillValid: () => false };

/** VIEWER_CONTROL and VIEWER_CONTROL_USERS. */
export class ControlRights {
  private readonly users: Set<string>;

  /**
   * @param allowControl VIEWER_CONTROL: whether anyone may send control commands
   * @param controlUsers VIEWER_CONTROL_USERS: the accounts that may; empty: every viewer may
   */
  constructor(
    private readonly allowControl: boolean,
    controlUsers: string[],
  ) {
    this.users = new Set(controlUsers.map((user) => user.trim()).filter(Boolean));
  }

  /** VIEWER_CONTROL=false: nobody may control, whoever they are. */
  get disabled(): boolean {
    return !this.allowControl;
  }

  /** Whether the viewer let in as `user` (undefined: the shared password, or no login) may control. */
  mayControl(user: string | undefined): boolean {
    return this.allowControl && (this.users.size === 0 || (user !== undefined && this.users.has(user)));
  }
}
