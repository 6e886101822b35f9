import { randomBytes } from 'node:crypto';
import { access, chmod, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCode, MosaicError } from '@mosaic/errors';

/** Where the hub keeps what it needs across restarts. */
export interface DataDirLayout {
  dataDir: string;
  /** NKey users of the operator, the services and every agency (seeds!), mode 0600. */
  identitiesFile: string;
  /** The nats-server configuration the hub writes and reloads. */
  configFile: string;
  /** JetStream store (`jetstream { store_dir }`). */
  storeDir: string;
  /** `accounts`: the account JWTs of the servers' `full` resolver. */
  resolverDir: string;
  /** `breakglass/admin.json`: the break-glass context (stream administration), mode 0600. */
  breakGlassContext: string;
  /** `<agency>.json` and `operator.json`, mode 0600. */
  contextsDir: string;
  /** Demo federation only: `<agency>.jwk`, the agencies' private signing keys, mode 0600. */
  keysDir: string;
  /** The hub's private checkpoint signing key (Ed25519 JWK), mode 0600. */
  hubKeyFile: string;
  /** The hub's public checkpoint key as a JWKS: what `mosaic audit verify --jwks` takes. */
  hubJwksFile: string;
  /** The selector key service's OPRF key (0600); never leaves the data dir. */
  selectorKeyFile: string;
  /** `checkpoint`: the latest signed checkpoint of the AUDIT log. */
  auditDir: string;
}

export function dataDirLayout(dataDir: string): DataDirLayout {
  return {
    dataDir,
    identitiesFile: join(dataDir, 'identities.json'),
    configFile: join(dataDir, 'nats-server.conf'),
    storeDir: join(dataDir, 'jetstream'),
    resolverDir: join(dataDir, 'accounts'),
    breakGlassContext: join(dataDir, 'breakglass', 'admin.json'),
    contextsDir: join(dataDir, 'contexts'),
    keysDir: join(dataDir, 'keys'),
    hubKeyFile: join(dataDir, 'hub.jwk'),
    hubJwksFile: join(dataDir, 'hub.jwks'),
    selectorKeyFile: join(dataDir, 'selector-key.json'),
    auditDir: join(dataDir, 'audit'),
  };
}

function ioError(path: string, cause: unknown): MosaicError {
  return new MosaicError(ErrorCode.Io, `cannot write ${path}: ${(cause as Error).message}`, {
    details: { path },
    cause,
  });
}

/** Creates the directories of the layout (mode 0700: they hold secrets). */
export async function makeDataDir(layout: DataDirLayout): Promise<void> {
  for (const dir of [
    layout.dataDir,
    layout.contextsDir,
    layout.keysDir,
    layout.auditDir,
    layout.resolverDir,
    dirname(layout.breakGlassContext),
  ]) {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw ioError(dir, err);
    }
  }
}

/**
 * Replaces `path` with `text` atomically (temp file, fsync, rename), so a reader — an
 * agency's client picking up its context, nats-server reloading — never sees half a file.
 */
export async function writeFileAtomic(path: string, text: string, mode = 0o600): Promise<void> {
  const temp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    // open() applies the umask; the mode must hold exactly.
    await chmod(temp, mode);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw ioError(path, err);
  }
}

/**
 * Moves the JetStream data of a store written before the hub had accounts — everything in
 * the global account `$G` — to the hub account, so an upgraded hub keeps every report,
 * alert and audit entry. Does nothing when the hub account already has data. Returns
 * whether it moved anything.
 */
export async function adoptGlobalAccountStore(
  storeDir: string,
  hubAccount: string,
): Promise<boolean> {
  const root = join(storeDir, 'jetstream');
  const global = join(root, '$G');
  const target = join(root, hubAccount);
  const exists = (path: string): Promise<boolean> =>
    stat(path).then(
      () => true,
      (err: unknown) => {
        if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return false;
        throw ioError(path, err);
      },
    );
  if (!(await exists(global)) || (await exists(target))) return false;
  try {
    await rename(global, target);
  } catch (err) {
    throw ioError(target, err);
  }
  return true;
}

/** True when `path` exists; ERR_IO when it cannot be told. */
export async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return false;
    throw new MosaicError(ErrorCode.Io, `cannot read ${path}`, { details: { path }, cause: err });
  }
}
