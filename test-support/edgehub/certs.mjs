// A throwaway CA and a server certificate for 127.0.0.1 / localhost, made at start: the module trusts
// the CA through the workload API's trust bundle, as it trusts edgeHub's CA on a real device.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

function certificate({ subject, issuer, publicKeyPem, signingKeyPem, isCa, altNames }) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 7 * 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: subject }]);
  cert.setIssuer([{ name: 'commonName', value: issuer }]);
  cert.setExtensions([
    { name: 'basicConstraints', cA: isCa },
    { name: 'keyUsage', keyCertSign: isCa, digitalSignature: true, keyEncipherment: !isCa },
    ...(altNames ? [{ name: 'subjectAltName', altNames }] : []),
  ]);
  cert.sign(forge.pki.privateKeyFromPem(signingKeyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

const rsaPair = () => generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });

/** @returns {{ caPem: string, certPem: string, keyPem: string }} */
export function makeCertificates() {
  const ca = rsaPair();
  const server = rsaPair();
  const caPem = certificate({ subject: 'wasmhost test edgeHub CA', issuer: 'wasmhost test edgeHub CA', publicKeyPem: ca.publicKey, signingKeyPem: ca.privateKey, isCa: true });
  const certPem = certificate({
    subject: 'localhost', issuer: 'wasmhost test edgeHub CA', publicKeyPem: server.publicKey, signingKeyPem: ca.privateKey, isCa: false,
    altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }],
  });
  return { caPem, certPem, keyPem: server.privateKey };
}
