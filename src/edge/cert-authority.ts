// The edge's local certificate authority. Made at the first start in `<dataDir>/edge-ca/` (`ca.pem`, the certificate
// users add to their trust store; `ca-key.pem`, its private key, mode 0600) and read back by every later start and by
// every edge process of the same data directory. It issues one ECDSA P-256 server certificate per app host name,
// with the name as its only subjectAltName.
//
// Certificates are written with our own DER writer (der.ts) and node:crypto's key generation and signing, not a
// dependency: an X.509 v3 certificate with a fixed algorithm and five extensions is about a hundred lines.

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ContrailError } from "../model/errors.ts";
import {
  bitString,
  boolean,
  explicit,
  ia5Contents,
  implicitPrimitive,
  octetString,
  oid,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from "./der.ts";

/** Folder of the CA under the data directory, and its two files. */
export const CA_DIR = "edge-ca";
const CA_CERT_FILE = "ca.pem";
const CA_KEY_FILE = "ca-key.pem";

const DAY_MS = 86_400_000;
/** Lifetime of the CA certificate, in days. */
const CA_VALIDITY_DAYS = 3650;
/** Lifetime of an issued server certificate, in days; renewed by the cache before it ends. */
export const LEAF_VALIDITY_DAYS = 30;
/** Certificates start this long before their issue time, so clients with a slightly late clock accept them (ms). */
const BACKDATE_MS = 3_600_000;
/** Random serial numbers: 16 bytes, the top bit cleared so the INTEGER stays positive and within 20 octets. */
const SERIAL_BYTES = 16;

const OID = {
  commonName: "2.5.4.3",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  subjectKeyId: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyId: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

/** keyUsage bits (RFC 5280 4.2.1.3) as DER BIT STRING contents: the byte and its count of unused trailing bits. */
const KEY_USAGE_CA = { byte: 0x06, unused: 1 }; // keyCertSign (5), cRLSign (6)
const KEY_USAGE_SERVER = { byte: 0x80, unused: 7 }; // digitalSignature (0)

/** A server certificate and its key, both PEM; `notAfterMs` is the end of validity in ms since the epoch. */
export interface IssuedCertificate {
  readonly keyPem: string;
  readonly certPem: string;
  readonly notAfterMs: number;
}

/** The fields of a certificate that differ between the CA and a server certificate. */
interface CertFields {
  readonly issuer: Buffer;
  readonly subject: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The subject's SubjectPublicKeyInfo, DER. */
  readonly spki: Buffer;
  readonly extensions: readonly Buffer[];
  readonly signer: KeyObject;
}

/** A Name of one common name. */
function commonName(cn: string): Buffer {
  return sequence(set(sequence(oid(OID.commonName), utf8String(cn))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

/** Key identifier of a public key: SHA-1 of its whole SubjectPublicKeyInfo (RFC 7093 allows any such method). */
function keyIdOf(spki: Buffer): Buffer {
  return createHash("sha1").update(spki).digest();
}

function spkiOf(key: KeyObject): Buffer {
  return key.export({ type: "spki", format: "der" });
}

/** Builds and signs an X.509 v3 certificate (ECDSA with SHA-256), DER. */
function certificate(f: CertFields): Buffer {
  const serial = randomBytes(SERIAL_BYTES);
  serial[0] &= 0x7f;
  const algorithm = sequence(oid(OID.ecdsaWithSha256));
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(serial),
    algorithm,
    f.issuer,
    sequence(time(f.notBefore), time(f.notAfter)),
    f.subject,
    f.spki,
    explicit(3, sequence(...f.extensions)),
  );
  // node:crypto signs with ECDSA keys in the DER (r, s) form X.509 wants.
  return sequence(tbs, algorithm, bitString(sign("sha256", tbs, f.signer)));
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

function newEcKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" });
}

/** The local CA of one data directory; holds its private key for the life of the edge process. */
export class LocalCa {
  private readonly name: Buffer;
  private readonly keyId: Buffer;

  private constructor(
    /** Absolute path of the CA certificate (PEM) that users trust. */
    readonly certPath: string,
    /** The CA certificate, PEM. */
    readonly certPem: string,
    private readonly key: KeyObject,
    commonNameOfCa: string,
  ) {
    this.name = commonName(commonNameOfCa);
    this.keyId = keyIdOf(spkiOf(createPublicKey(key)));
  }

  /**
   * Reads the CA of `dataDir`, making it first if there is none. Concurrent first starts are safe: each writes into a
   * folder of its own and renames it into place; the losers read the winner's. Throws `unavailable` for an unreadable
   * or expired CA (remove the folder to make a new one).
   */
  static openOrCreate(dataDir: string, now: Date = new Date()): LocalCa {
    const dir = path.resolve(dataDir, CA_DIR);
    if (!fs.existsSync(dir)) LocalCa.create(dataDir, dir, now);
    const certPath = path.join(dir, CA_CERT_FILE);
    try {
      const certPem = fs.readFileSync(certPath, "utf8");
      const key = createPrivateKey(fs.readFileSync(path.join(dir, CA_KEY_FILE), "utf8"));
      const cert = new X509Certificate(certPem);
      if (!cert.checkPrivateKey(key)) throw new Error("the key does not match the certificate");
      if (Date.parse(cert.validTo) <= now.getTime()) throw new Error(`the CA expired on ${cert.validTo}`);
      const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
      if (cn === undefined) throw new Error("the CA certificate has no common name");
      return new LocalCa(certPath, certPem, key, cn);
    } catch (err) {
      throw new ContrailError("unavailable", `edge CA in ${dir}: ${(err as Error).message}`, { cause: err });
    }
  }

  private static create(dataDir: string, dir: string, now: Date): void {
    fs.mkdirSync(dataDir, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(dataDir, `${CA_DIR}.tmp-`));
    const { privateKey, publicKey } = newEcKey();
    const spki = spkiOf(publicKey);
    const name = commonName(`Contrail local CA ${randomBytes(4).toString("hex")}`);
    const der = certificate({
      issuer: name,
      subject: name,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
      spki,
      extensions: [
        extension(OID.basicConstraints, true, sequence(boolean(true), smallInteger(0))),
        extension(OID.keyUsage, true, bitString(Buffer.from([KEY_USAGE_CA.byte]), KEY_USAGE_CA.unused)),
        extension(OID.subjectKeyId, false, octetString(keyIdOf(spki))),
      ],
      signer: privateKey,
    });
    fs.writeFileSync(path.join(tmp, CA_KEY_FILE), privateKey.export({ type: "pkcs8", format: "pem" }), {
      mode: 0o600,
    });
    fs.writeFileSync(path.join(tmp, CA_CERT_FILE), pem("CERTIFICATE", der));
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      // Another process made the CA first: use theirs.
      if (!fs.existsSync(dir)) throw err;
    }
  }

  /** Issues a server certificate for `hostName` (a DNS name), with a new key, valid for LEAF_VALIDITY_DAYS. */
  issue(hostName: string, now: Date = new Date()): IssuedCertificate {
    const { privateKey, publicKey } = newEcKey();
    const spki = spkiOf(publicKey);
    const notAfter = new Date(now.getTime() + LEAF_VALIDITY_DAYS * DAY_MS);
    const der = certificate({
      issuer: this.name,
      subject: commonName(hostName),
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter,
      spki,
      extensions: [
        extension(OID.basicConstraints, true, sequence()),
        extension(OID.keyUsage, true, bitString(Buffer.from([KEY_USAGE_SERVER.byte]), KEY_USAGE_SERVER.unused)),
        extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
        extension(OID.subjectAltName, false, sequence(implicitPrimitive(2, ia5Contents(hostName)))),
        extension(OID.subjectKeyId, false, octetString(keyIdOf(spki))),
        extension(OID.authorityKeyId, false, sequence(implicitPrimitive(0, this.keyId))),
      ],
      signer: this.key,
    });
    return {
      keyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
      certPem: pem("CERTIFICATE", der),
      notAfterMs: notAfter.getTime(),
    };
  }
}
