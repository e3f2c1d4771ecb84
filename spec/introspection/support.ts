// Shared set-up of the introspection specs: a loopback authorization server and introspectors for it.
import { clearKeySets, createIntrospector, type IntrospectionOptions, type IntrospectorOptions } from '../../lib/index.js';
import { introspectionServer, type IntrospectionServer, type ServerOptions } from '../support/introspection-server.js';

export interface Setup {
  server: IntrospectionServer;
  introspectorFor(extra?: Partial<IntrospectorOptions>, introspection?: Partial<IntrospectionOptions>): ReturnType<typeof createIntrospector>;
  optionsFor(extra?: Partial<IntrospectorOptions>, introspection?: Partial<IntrospectionOptions>): IntrospectorOptions;
}

/** Starts a server before each spec and stops it after; `introspectorFor` builds an introspector for it. */
export function useServer(serverOptions: ServerOptions = {}): Setup {
  const setup = {} as Setup;
  beforeEach(async () => {
    setup.server = await introspectionServer(serverOptions);
  });
  afterEach(async () => {
    await setup.server.close();
    clearKeySets(setup.server.issuer);
  });
  setup.optionsFor = (extra = {}, introspection = {}) => ({
    issuer: setup.server.issuer,
    audience: setup.server.audience,
    ...extra,
    introspection: { clientId: setup.server.clientId, clientSecret: setup.server.clientSecret, ...introspection },
  });
  setup.introspectorFor = (extra = {}, introspection = {}) => createIntrospector(setup.optionsFor(extra, introspection));
  return setup;
}
