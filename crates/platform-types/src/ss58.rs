//! SS58 addresses (Substrate's base58 format with a blake2b-512 checksum).

use blake2::{Blake2b512, Digest};

use crate::error::KeyError;

/// The generic Substrate prefix, used by Bittensor (addresses start with `5`).
pub const BITTENSOR_PREFIX: u16 = 42;

const CHECKSUM_PREAMBLE: &[u8] = b"SS58PRE";
const CHECKSUM_LEN: usize = 2;

fn checksum(data: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut hasher = Blake2b512::new();
    hasher.update(CHECKSUM_PREAMBLE);
    hasher.update(data);
    let digest = hasher.finalize();
    [digest[0], digest[1]]
}

fn prefix_bytes(prefix: u16) -> Vec<u8> {
    match prefix {
        0..=63 => vec![prefix as u8],
        _ => {
            // Two-byte form: 14 bits of prefix spread over both bytes, top bits 01.
            let ident = prefix & 0b0011_1111_1111_1111;
            let first = ((ident & 0b0000_0000_1111_1100) as u8) >> 2;
            let second = ((ident >> 8) as u8) | (((ident & 0b11) as u8) << 6);
            vec![first | 0b0100_0000, second]
        }
    }
}

/// Encodes a 32-byte account id with `prefix` (prefixes above 16383 are masked to 14 bits).
pub fn encode(prefix: u16, account: &[u8; 32]) -> String {
    let mut data = prefix_bytes(prefix);
    data.extend_from_slice(account);
    let sum = checksum(&data);
    data.extend_from_slice(&sum);
    bs58::encode(data).into_string()
}

/// Decodes an address into its prefix and 32-byte account id, checking the checksum.
pub fn decode(address: &str) -> Result<(u16, [u8; 32]), KeyError> {
    let data = bs58::decode(address).into_vec().map_err(|_| KeyError::BadAddress("not base58"))?;
    let (prefix_len, prefix) = match data.first() {
        Some(&b @ 0..=63) => (1, u16::from(b)),
        Some(&b @ 64..=127) => {
            let second = *data.get(1).ok_or(KeyError::BadAddress("too short"))?;
            let lower = (b << 2) | (second >> 6);
            let upper = second & 0b0011_1111;
            (2, u16::from(lower) | (u16::from(upper) << 8))
        }
        Some(_) => return Err(KeyError::BadAddress("reserved prefix")),
        None => return Err(KeyError::BadAddress("empty")),
    };
    if data.len() != prefix_len + 32 + CHECKSUM_LEN {
        return Err(KeyError::BadAddress("wrong length for a 32-byte account"));
    }
    let (body, sum) = data.split_at(prefix_len + 32);
    if checksum(body) != sum {
        return Err(KeyError::BadAddress("checksum mismatch"));
    }
    let mut account = [0u8; 32];
    account.copy_from_slice(&body[prefix_len..]);
    Ok((prefix, account))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

    #[test]
    fn round_trips_alice_with_prefix_42() {
        let (prefix, account) = decode(ALICE).expect("valid address");
        assert_eq!(prefix, BITTENSOR_PREFIX);
        assert_eq!(hex::encode(account), "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d");
        assert_eq!(encode(prefix, &account), ALICE);
    }

    #[test]
    fn two_byte_prefixes_round_trip() {
        let account = [7u8; 32];
        for prefix in [64u16, 255, 1000, 16383] {
            let address = encode(prefix, &account);
            assert_eq!(decode(&address).ok(), Some((prefix, account)));
        }
    }

    #[test]
    fn corrupted_addresses_are_rejected() {
        let mut chars: Vec<char> = ALICE.chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        let corrupted: String = chars.into_iter().collect();
        assert!(decode(&corrupted).is_err());
        assert!(decode("").is_err());
        assert!(decode("0OIl").is_err());
        assert!(decode(&ALICE[..40]).is_err());
    }
}
