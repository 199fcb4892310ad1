/** Method + path-pattern routing for the /v1 API (`/v1/customers/:id`). */
import type { EventOrigin } from './objects/event.ts';
import type { FormObject } from './form.ts';

export interface ApiRequest {
  /** Path parameters (`:id`). */
  params: Record<string, string>;
  /** Form parameters: the body of a POST, the query string of a GET or DELETE. */
  input: FormObject;
  /** For events this request causes (`event.request`). */
  origin: EventOrigin;
}

/** What a handler answers: the body of a 200 (errors are thrown as ApiError). */
export interface ApiResponse {
  body: object;
}

export type Handler = (req: ApiRequest) => ApiResponse | Promise<ApiResponse>;

interface Route {
  method: string;
  /** As added: /v1/customers/:id (what rate limits count as one endpoint). */
  path: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

export type RouteMatch =
  | { kind: 'found'; handler: Handler; params: Record<string, string>; route: string }
  | { kind: 'none' };

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: Handler): this {
    const keys: string[] = [];
    const source = path
      .split('/')
      .map((seg) => {
        if (seg.startsWith(':')) {
          keys.push(seg.slice(1));
          return '([^/]+)';
        }
        return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.routes.push({ method, path, pattern: new RegExp(`^${source}$`), keys, handler });
    return this;
  }

  get(path: string, handler: Handler): this {
    return this.add('GET', path, handler);
  }

  post(path: string, handler: Handler): this {
    return this.add('POST', path, handler);
  }

  delete(path: string, handler: Handler): this {
    return this.add('DELETE', path, handler);
  }

  match(method: string, path: string): RouteMatch {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => {
        params[key] = decodeURIComponent(m[i + 1] ?? '');
      });
      return { kind: 'found', handler: route.handler, params, route: route.path };
    }
    return { kind: 'none' };
  }
}
