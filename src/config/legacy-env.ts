/** pygeoapi-k8s-manager's environment names and ours: read as ours when ours are not set. */
const ALIASES = ['API_TOKEN', 'NAMESPACE', ...['ENDPOINT', 'KEY', 'SECRET', 'NAME', 'PATH_PREFIX', 'REGION'].map((part) => `FINALIZER_BUCKET_${part}`)];
const LEGACY = 'PYGEOAPI_K8S_MANAGER_';
const OURS = 'K8S_MANAGER_';

export interface LegacyEnv {
  env: NodeJS.ProcessEnv;
  /** One deprecation notice per legacy name that was set: what it became, or that it does nothing here. */
  notices: string[];
}

/**
 * So that a team moves its deployment over unchanged: each PYGEOAPI_K8S_MANAGER_* variable stands for
 * its K8S_MANAGER_* twin (ours wins when both are set). The notices never show a value.
 */
export function withLegacyEnv(given: NodeJS.ProcessEnv): LegacyEnv {
  const env = { ...given };
  const notices: string[] = [];
  for (const name of Object.keys(given).filter((key) => key.startsWith(LEGACY)).sort()) {
    const rest = name.slice(LEGACY.length);
    if (!ALIASES.includes(rest)) {
      notices.push(`${name} is a pygeoapi-k8s-manager variable with no effect here (see the README, Migrating from pygeoapi-k8s-manager)`);
      continue;
    }
    const ours = `${OURS}${rest}`;
    if (env[ours] === undefined) env[ours] = given[name];
    notices.push(`${name} is deprecated: set ${ours} instead${given[ours] === undefined ? '' : ` (${ours} is set too and wins)`}`);
  }
  return { env, notices };
}
