import type { RequestHandler, Response } from 'express';
import type { ApiKeysService, Principal } from '../../domain/keys/api-keys.service';
import type { Scope } from '../../domain/keys/scopes';
import { errors } from '../../lib/errors';

/** Authenticates the API key and puts the caller (workspace, key, mode, scopes) on res.locals. */
export function authenticate(keys: Pick<ApiKeysService, 'authenticate'>): RequestHandler {
  return async (req, res, next) => {
    res.locals.principal = await keys.authenticate(req.get('authorization'));
    next();
  };
}

/** 403 unless the authenticated key holds `scope`. */
export function requireScope(scope: Scope): RequestHandler {
  return (_req, res, next) => {
    if (!principalOf(res).scopes.has(scope)) throw errors.forbidden(scope);
    next();
  };
}

export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw errors.unauthenticated();
  return p;
}
