"""Certificates for one local cluster: a CA, the apiserver's serving cert and client certs.

Pure file generation with `cryptography`; it starts nothing. The same key signs service-account
tokens (apiserver) and is their private key (controller-manager).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=365)

# client certificates: file stem -> (common name, organization or None)
CLIENTS = {
    "admin": ("kasset-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
    "kube-proxy": ("system:kube-proxy", None),  # bound to system:node-proxier by the default RBAC
}


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


def _new_key() -> ec.EllipticCurvePrivateKey:
    # P-256 keys: as strong as RSA-3072 for our purpose and made in microseconds instead of seconds
    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> Pair:
    key_path = path.with_suffix(".key")
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path = path.with_suffix(".crt")
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Pair(cert=cert_path, key=key_path)


def _name(cn: str, org: str | None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _sign(
    *,
    subject: x509.Name,
    public_key,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_name: x509.Name,
    is_ca: bool = False,
    usages: list | None = None,
    sans: list | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    return builder.sign(ca_key, hashes.SHA256())


def generate(directory: Path, *, node_name: str, node_ip: str, service_ip: str) -> dict[str, Pair]:
    """Write the CA, serving and client certs into `directory`; return them by stem ("ca", "apiserver", …)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _new_key()
    ca_name = _name("kasset-local-ca", None)
    ca_cert = _sign(subject=ca_name, public_key=ca_key.public_key(), ca_key=ca_key, ca_name=ca_name, is_ca=True)
    pairs = {"ca": _write(directory / "ca", ca_key, ca_cert)}

    def issue(stem: str, cn: str, org: str | None, usages: list, sans: list | None = None) -> None:
        key = _new_key()
        cert = _sign(subject=_name(cn, org), public_key=key.public_key(), ca_key=ca_key,
                     ca_name=ca_name, usages=usages, sans=sans)
        pairs[stem] = _write(directory / stem, key, cert)

    dns = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
           "kubernetes.default.svc.cluster.local", node_name]
    ips = {"127.0.0.1", node_ip, service_ip}
    sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in sorted(ips)]
    issue("apiserver", "kube-apiserver", None, [ExtendedKeyUsageOID.SERVER_AUTH], sans)
    issue("kubelet-serving", f"system:node:{node_name}", "system:nodes", [ExtendedKeyUsageOID.SERVER_AUTH],
          [x509.DNSName(node_name), x509.DNSName("localhost"),
           x509.IPAddress(ipaddress.ip_address(node_ip)), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    for stem, (cn, org) in CLIENTS.items():
        issue(stem, cn, org, [ExtendedKeyUsageOID.CLIENT_AUTH])
    issue("kubelet", f"system:node:{node_name}", "system:nodes", [ExtendedKeyUsageOID.CLIENT_AUTH])

    sa_key = _new_key()
    (directory / "sa.key").write_bytes(
        sa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())
    )
    (directory / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return pairs
