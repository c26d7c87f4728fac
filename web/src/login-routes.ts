/**
 * The login form and its handlers (GET/POST /login, GET /session, POST /logout); mounted before
 * the access guard, since they are how a browser gets past it. Logging in sets the session
 * cookie (session-cookie.ts); form posts and log out from a page of a foreign origin are refused.
 */
import express from 'express';
import { loginPage } from './login-page.js';
import type { OriginPolicy } from './origin-policy.js';
import { SESSION_COOKIE, SESSION_MS, sessionCookieAttributes } from './session-cookie.js';
import type { ViewerAuthenticator } from './viewer-authenticator.js';

export function loginRoutes(authenticator: ViewerAuthenticator, origins: OriginPolicy): express.Router {
  const router = express.Router();
  const page = (next: string, error: string | false, user = ''): string => loginPage({ next, error, user, ...authenticator.formFields });

  router.get('/login', (request, response) => {
    if (!authenticator.required) {
      response.redirect(303, '/');
      return;
    }
    response.type('html').send(page(safeNext(request.query.next), false));
  });

  router.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), async (request, response) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const next = safeNext(body.next);
    if (!authenticator.required) {
      response.redirect(303, next);
      return;
    }
    if (!origins.allows(request)) return response.status(403).type('text').send('login from a foreign page refused');
    const user = typeof body.username === 'string' ? body.username.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const viewer = await authenticator.logIn(user, password, authenticator.addressOf(request));
    if (viewer === 'throttled')
      return response
        .status(429)
        .type('html')
        .send(page(next, 'Too many failed logins; wait a few minutes.', user));
    if (viewer === undefined) {
      // One message for a wrong user and a wrong password: the form must not tell who exists.
      const error = authenticator.formFields.askUser ? 'Wrong user name or password.' : 'Wrong password.';
      return response
        .status(401)
        .type('html')
        .send(page(next, error, user));
    }
    response.cookie(SESSION_COOKIE, authenticator.newSession(viewer), { ...sessionCookieAttributes(request.secure), maxAge: SESSION_MS });
    response.redirect(303, next);
  });

  // The page asks this when its WebSocket is refused, since a browser does not say why. Open, and
  // never a 401: a basic-auth challenge would pop a password dialog up over the page.
  router.get('/session', async (request, response) => {
    const loggedIn = !authenticator.required || typeof (await authenticator.authenticate(request)) === 'object';
    response.set('Cache-Control', 'no-store').json({ loginRequired: authenticator.required, loggedIn });
  });

  // POST only, from this site: a link or image on another page must not log people out.
  router.post('/logout', (request, response) => {
    if (!origins.allows(request)) return response.status(403).type('text').send('logout from a foreign page refused');
    response.clearCookie(SESSION_COOKIE, sessionCookieAttributes(request.secure));
    response.redirect(303, authenticator.required ? '/login' : '/');
  });
  router.get('/logout', (_request, response) => {
    response.set('Allow', 'POST').status(405).type('text').send('log out with the page\'s "log out" button (POST /logout)');
  });
  return router;
}

/** Only a path on this site: never `//evil.example` or `https://...` (an open redirect). */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') && !value.includes('\\') ? value : '/';
}
