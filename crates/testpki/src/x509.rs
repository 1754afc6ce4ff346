//! X.509 certificates in the JPKI profile (§8.6, §8.7), built field by field.
//!
//! [`CertSpec`] names every field the evidence verifier checks, so a negative test can take
//! the spec of a good certificate ([`crate::TestPki::sign_cert_spec`]), change one field
//! (validity, KeyUsage, BasicConstraints, issuer key, hash algorithm, SAN …) and build it
//! again with [`build_certificate`]. Nothing here enforces a policy: a spec can describe a
//! broken certificate on purpose.

use std::fmt;

use der::asn1::ObjectIdentifier;
use der::{DateTime, Encode};
use rsa::{PrivateKey, PublicKey};
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};

use crate::PkiError;
use crate::asn1;
use crate::keys::{SignatureHash, spki_der};

/// Object identifiers of the JPKI profile.
pub mod oid {
    use der::asn1::ObjectIdentifier;

    /// SAN OtherName 氏名 (name).
    pub const SAN_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.1");
    /// SAN OtherName 氏名代替文字使用位置 (name substitute-character flags).
    pub const SAN_NAME_SUBSTITUTES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.2");
    /// SAN OtherName 性別 (sex: `1` male, `2` female, `3` not known / not applicable).
    pub const SAN_SEX: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.3");
    /// SAN OtherName 生年月日 (`EYYYYMMDD`: era digit + Gregorian date).
    pub const SAN_BIRTH_DATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.4");
    /// SAN OtherName 住所 (address).
    pub const SAN_ADDRESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.5");
    /// SAN OtherName 住所代替文字使用位置 (address substitute-character flags).
    pub const SAN_ADDRESS_SUBSTITUTES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.6");
    /// Certificate policy of signature certificates (class 20).
    pub const POLICY_SIGN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.1.20");
    /// Certificate policy of user-authentication certificates (class 30).
    pub const POLICY_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.3.30");

    pub(crate) const COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
    pub(crate) const ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
    pub(crate) const ORGANIZATIONAL_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
    pub(crate) const LOCALITY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.7");
    pub(crate) const STATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.8");
    pub(crate) const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

    pub(crate) const SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
    pub(crate) const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
    pub(crate) const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
    pub(crate) const ISSUER_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.18");
    pub(crate) const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
    pub(crate) const CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
    pub(crate) const CRL_REASON: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");
    pub(crate) const ISSUING_DISTRIBUTION_POINT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");
    pub(crate) const CRL_DISTRIBUTION_POINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.31");
    pub(crate) const CERTIFICATE_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
    pub(crate) const AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
}

/// A distinguished-name attribute type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnAttr {
    /// `C` (countryName, PrintableString).
    Country,
    /// `ST` (stateOrProvinceName).
    State,
    /// `L` (localityName).
    Locality,
    /// `O` (organizationName).
    Organization,
    /// `OU` (organizationalUnitName).
    OrganizationalUnit,
    /// `CN` (commonName).
    CommonName,
}

impl DnAttr {
    fn label(self) -> &'static str {
        match self {
            Self::Country => "C",
            Self::State => "ST",
            Self::Locality => "L",
            Self::Organization => "O",
            Self::OrganizationalUnit => "OU",
            Self::CommonName => "CN",
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Country => oid::COUNTRY,
            Self::State => oid::STATE,
            Self::Locality => oid::LOCALITY,
            Self::Organization => oid::ORGANIZATION,
            Self::OrganizationalUnit => oid::ORGANIZATIONAL_UNIT,
            Self::CommonName => oid::COMMON_NAME,
        }
    }
}

/// A distinguished name, one attribute per RDN, **in encoding order** (country first, as
/// `openssl x509 -nameopt compat` prints it), which is *not* RFC 4514 string order.
///
/// Values are encoded as PrintableString when they fit its character set and as
/// UTF8String otherwise (so `O=公的個人認証サービス(テスト)` is UTF8String); `C` is always
/// PrintableString. The same `Dn` always encodes to the same bytes, so issuer and subject
/// names match byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dn(pub Vec<(DnAttr, String)>);

impl Dn {
    /// Parses `"C=JP, O=JPKI-TEST, OU=…"` (encoding order; `", "` or `","` separates RDNs;
    /// values cannot contain commas).
    ///
    /// # Errors
    /// [`PkiError::Dn`] on an unknown attribute type or a part without `=`.
    pub fn parse(text: &str) -> Result<Self, PkiError> {
        let mut attrs = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let (key, value) = part.split_once('=').ok_or_else(|| PkiError::Dn(text.to_owned()))?;
            let attr = match key.trim() {
                "C" => DnAttr::Country,
                "ST" => DnAttr::State,
                "L" => DnAttr::Locality,
                "O" => DnAttr::Organization,
                "OU" => DnAttr::OrganizationalUnit,
                "CN" => DnAttr::CommonName,
                _ => return Err(PkiError::Dn(text.to_owned())),
            };
            attrs.push((attr, value.trim().to_owned()));
        }
        Ok(Self(attrs))
    }

    /// The DER `Name` (RDNSequence).
    ///
    /// # Errors
    /// [`PkiError::Der`] when a `C` value is not a PrintableString.
    pub fn to_der(&self) -> Result<Vec<u8>, PkiError> {
        let mut rdns = Vec::new();
        for (attr, value) in &self.0 {
            let printable = value.chars().all(is_printable_string_char);
            let encoded = if *attr == DnAttr::Country || printable {
                asn1::printable_string(value)?
            } else {
                asn1::utf8_string(value)?
            };
            let mut atv = asn1::oid(&attr.oid())?;
            atv.extend_from_slice(&encoded);
            rdns.extend_from_slice(&asn1::set(&asn1::seq(&atv)));
        }
        Ok(asn1::seq(&rdns))
    }
}

impl fmt::Display for Dn {
    /// `C=JP, O=…` in encoding order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (attr, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={value}", attr.label())?;
        }
        Ok(())
    }
}

fn is_printable_string_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c)
}

/// KeyUsage bits and whether the extension is critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUsageSpec {
    /// The bits (x509-cert's flag set, e.g. `KeyUsages::DigitalSignature | KeyUsages::NonRepudiation`).
    pub usages: KeyUsage,
    /// Mark the extension critical (JPKI: always).
    pub critical: bool,
}

impl KeyUsageSpec {
    /// Root CAs: keyCertSign + cRLSign, critical.
    pub fn ca() -> Self {
        Self {
            usages: KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            critical: true,
        }
    }

    /// Signature certificates: digitalSignature + nonRepudiation, critical.
    pub fn signature() -> Self {
        Self {
            usages: KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
            critical: true,
        }
    }

    /// User-authentication certificates: digitalSignature, critical.
    pub fn authentication() -> Self {
        Self {
            usages: KeyUsage(KeyUsages::DigitalSignature.into()),
            critical: true,
        }
    }
}

/// Everything that goes into one certificate. Build it with [`build_certificate`].
#[derive(Debug, Clone)]
pub struct CertSpec<'a> {
    /// Serial number as a big-endian magnitude (encoded as a positive INTEGER).
    pub serial: Vec<u8>,
    /// Issuer name.
    pub issuer: Dn,
    /// The key that signs the certificate.
    pub issuer_key: &'a PrivateKey,
    /// AuthorityKeyIdentifier keyIdentifier; `None` omits the extension.
    pub authority_key_id: Option<Vec<u8>>,
    /// Subject name.
    pub subject: Dn,
    /// The certified public key.
    pub subject_public_key: PublicKey,
    /// SubjectKeyIdentifier; `None` omits the extension.
    pub subject_key_id: Option<Vec<u8>>,
    /// Start of validity.
    pub not_before: DateTime,
    /// End of validity (inclusive).
    pub not_after: DateTime,
    /// KeyUsage; `None` omits the extension.
    pub key_usage: Option<KeyUsageSpec>,
    /// BasicConstraints (always critical when present): `Some(true)` CA, `Some(false)` end
    /// entity, `None` omits the extension (the JPKI end-entity profile).
    pub ca: Option<bool>,
    /// SubjectAltName OtherNames `(type-id, UTF8String value)`, in this order; `None` omits
    /// the extension.
    pub san: Option<Vec<(ObjectIdentifier, String)>>,
    /// IssuerAltName directoryName; `None` omits the extension.
    pub issuer_alt_name: Option<Dn>,
    /// certificatePolicies policy identifiers (no qualifiers); empty omits the extension.
    pub policies: Vec<ObjectIdentifier>,
    /// The hash of the signature algorithm.
    pub signature_hash: SignatureHash,
    /// Further extensions, appended as given: `(extnID, critical, extnValue DER)`.
    pub extra_extensions: Vec<(ObjectIdentifier, bool, Vec<u8>)>,
}

/// Builds and signs a v3 certificate; returns its DER.
///
/// Extensions appear in this order: SubjectKeyIdentifier, AuthorityKeyIdentifier, KeyUsage,
/// BasicConstraints, certificatePolicies, IssuerAltName, SubjectAltName, extras.
///
/// # Errors
/// [`PkiError`] if a field cannot be encoded or the key cannot sign.
pub fn build_certificate(spec: &CertSpec<'_>) -> Result<Vec<u8>, PkiError> {
    let mut tbs = asn1::explicit(0, &[0x02, 0x01, 0x02]); // version v3
    tbs.extend_from_slice(&asn1::unsigned_integer(&spec.serial)?);
    tbs.extend_from_slice(&asn1::signature_algorithm(spec.signature_hash)?);
    tbs.extend_from_slice(&spec.issuer.to_der()?);
    let mut validity = asn1::time(spec.not_before)?;
    validity.extend_from_slice(&asn1::time(spec.not_after)?);
    tbs.extend_from_slice(&asn1::seq(&validity));
    tbs.extend_from_slice(&spec.subject.to_der()?);
    tbs.extend_from_slice(&spki_der(&spec.subject_public_key)?);
    let extensions = extensions(spec)?;
    if !extensions.is_empty() {
        tbs.extend_from_slice(&asn1::explicit(3, &asn1::seq(&extensions)));
    }
    asn1::signed(&asn1::seq(&tbs), spec.issuer_key, spec.signature_hash)
}

fn extensions(spec: &CertSpec<'_>) -> Result<Vec<u8>, PkiError> {
    let mut out = Vec::new();
    if let Some(ski) = &spec.subject_key_id {
        out.extend_from_slice(&asn1::extension(&oid::SUBJECT_KEY_ID, false, &asn1::octet_string(ski))?);
    }
    if let Some(aki) = &spec.authority_key_id {
        out.extend_from_slice(&authority_key_identifier(aki)?);
    }
    if let Some(ku) = &spec.key_usage {
        out.extend_from_slice(&asn1::extension(&oid::KEY_USAGE, ku.critical, &ku.usages.to_der()?)?);
    }
    if let Some(ca) = spec.ca {
        // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, … }: DER omits FALSE.
        let value = if ca {
            asn1::seq(&[0x01, 0x01, 0xFF])
        } else {
            asn1::seq(&[])
        };
        out.extend_from_slice(&asn1::extension(&oid::BASIC_CONSTRAINTS, true, &value)?);
    }
    if !spec.policies.is_empty() {
        let mut policies = Vec::new();
        for policy in &spec.policies {
            policies.extend_from_slice(&asn1::seq(&asn1::oid(policy)?));
        }
        out.extend_from_slice(&asn1::extension(
            &oid::CERTIFICATE_POLICIES,
            false,
            &asn1::seq(&policies),
        )?);
    }
    if let Some(dn) = &spec.issuer_alt_name {
        // GeneralName directoryName [4] EXPLICIT Name (CHOICE → explicit tagging).
        let names = asn1::seq(&asn1::explicit(4, &dn.to_der()?));
        out.extend_from_slice(&asn1::extension(&oid::ISSUER_ALT_NAME, false, &names)?);
    }
    if let Some(san) = &spec.san {
        out.extend_from_slice(&asn1::extension(&oid::SUBJECT_ALT_NAME, false, &other_names(san)?)?);
    }
    for (id, critical, value) in &spec.extra_extensions {
        out.extend_from_slice(&asn1::extension(id, *critical, value)?);
    }
    Ok(out)
}

/// `AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }` as an
/// extension (also used by CRLs).
pub(crate) fn authority_key_identifier(key_id: &[u8]) -> Result<Vec<u8>, PkiError> {
    let value = asn1::seq(&mynaid_apdu::tlv::encode_to_vec(mynaid_apdu::tlv::Tag(0x80), key_id));
    asn1::extension(&oid::AUTHORITY_KEY_ID, false, &value)
}

/// `GeneralNames` of `otherName [0] IMPLICIT SEQUENCE { type-id, value [0] EXPLICIT UTF8String }`.
fn other_names(entries: &[(ObjectIdentifier, String)]) -> Result<Vec<u8>, PkiError> {
    let mut names = Vec::new();
    for (id, value) in entries {
        let mut content = asn1::oid(id)?;
        content.extend_from_slice(&asn1::explicit(0, &asn1::utf8_string(value)?));
        names.extend_from_slice(&mynaid_apdu::tlv::encode_to_vec(mynaid_apdu::tlv::Tag(0xA0), &content));
    }
    Ok(asn1::seq(&names))
}

/// One `'0'`/`'1'` per Unicode scalar value of `original`: `'1'` where the character was
/// replaced by a substitute (代替文字) in the certificate, `'0'` elsewhere.
///
/// Returns the substituted text and its flags. `table` maps an original character to its
/// substitute; characters not in the table are kept.
pub fn substitute(original: &str, table: &[(char, char)]) -> (String, String) {
    let mut text = String::with_capacity(original.len());
    let mut flags = String::with_capacity(original.chars().count());
    for c in original.chars() {
        match table.iter().find(|(from, _)| *from == c) {
            Some((_, to)) => {
                text.push(*to);
                flags.push('1');
            }
            None => {
                text.push(c);
                flags.push('0');
            }
        }
    }
    (text, flags)
}

/// The `fullName` of a distribution point reached at `uri`.
pub(crate) fn point_name(uri: &str) -> Result<x509_cert::ext::pkix::name::DistributionPointName, PkiError> {
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    let uri = der::asn1::Ia5String::new(uri)?;
    Ok(DistributionPointName::FullName(vec![
        GeneralName::UniformResourceIdentifier(uri),
    ]))
}

/// A cRLDistributionPoints extension (not critical) with one distribution point per URI,
/// for [`CertSpec::extra_extensions`]: the certificate is then decided only by the CRLs of
/// those points (their issuingDistributionPoint, [`crate::crl::issuing_distribution_point`]).
/// The test PKI's own certificates name none.
///
/// # Errors
/// [`PkiError::Der`] when a URI is not IA5.
pub fn crl_distribution_points(uris: &[&str]) -> Result<(ObjectIdentifier, bool, Vec<u8>), PkiError> {
    use x509_cert::ext::pkix::crl::CrlDistributionPoints;
    use x509_cert::ext::pkix::crl::dp::DistributionPoint;
    let points = uris
        .iter()
        .map(|uri| {
            Ok(DistributionPoint {
                distribution_point: Some(point_name(uri)?),
                reasons: None,
                crl_issuer: None,
            })
        })
        .collect::<Result<Vec<_>, PkiError>>()?;
    Ok((
        oid::CRL_DISTRIBUTION_POINTS,
        false,
        CrlDistributionPoints(points).to_der()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;

    #[test]
    fn dn_round_trips_through_x509_cert() {
        let dn = Dn::parse("C=JP, O=公的個人認証サービス(テスト), OU=a b, CN=X1").unwrap();
        assert_eq!(dn.to_string(), "C=JP, O=公的個人認証サービス(テスト), OU=a b, CN=X1");
        let name = x509_cert::name::Name::from_der(&dn.to_der().unwrap()).unwrap();
        // x509-cert prints RFC 4514 order (last RDN first).
        assert!(name.to_string().starts_with("CN=X1,OU=a b,"));
        assert!(Dn::parse("C=JP, XX=1").is_err());
        assert!(Dn::parse("C=JP, O").is_err());
    }

    #[test]
    fn substitution_flags_count_scalar_values() {
        let (text, flags) = substitute("𠮷田　一郎", &[('𠮷', '吉')]);
        assert_eq!(text, "吉田　一郎");
        assert_eq!(flags, "10000");
        let (text, flags) = substitute("abc", &[]);
        assert_eq!((text.as_str(), flags.as_str()), ("abc", "000"));
    }
}
