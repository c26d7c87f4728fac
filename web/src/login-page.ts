/** The login form (GET /login, and again with an error after a failed POST /login). */

export interface LoginPageOptions {
  /** Where to go after logging in; already checked to be a path on this site. */
  next: string;
  error: string | false;
  /** Show the user name field (VIEWER_USERS_FILE is set). */
  askUser: boolean;
  /** The user name may stay empty (VIEWER_PASSWORD is set too, and it takes any user name). */
  userOptional: boolean;
  /** What was typed as the user name, so a wrong password does not make the person type it again. */
  user?: string;
}

export function loginPage({ next, error, askUser, userOptional, user = '' }: LoginPageOptions): string {
  // The password gets the focus unless the user name field comes first and is still empty.
  const focusUser = askUser && user === '';
  const userField = askUser
    ? `<label>User name <input type="text" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" value="${escapeHtml(user)}"${userOptional ? '' : ' required'}${focusUser ? ' autofocus' : ''}></label>\n`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>camqtt — log in</title><link rel="icon" href="/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/styles.css"></head>
<body class="login"><form method="post" action="/login" class="login-form">
<h1>camqtt</h1>
${error ? `<p class="login-error" role="alert">${escapeHtml(error)}</p>` : ''}
${userField}<label>${askUser ? 'Password' : 'Viewer password'} <input type="password" name="password" autocomplete="current-password" required${focusUser ? '' : ' autofocus'}></label>
<input type="hidden" name="next" value="${escapeHtml(next)}">
<button type="submit">Log in</button>
</form></body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
