//! Reads the frames qemu's `filter-dump` wrote (classic pcap, Ethernet): just enough to tell DHCP packets and
//! TCP connection attempts apart.

use std::net::Ipv4Addr;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// DHCPv4 (UDP 67/68) or DHCPv6 (UDP 546/547), in either direction.
    Dhcp {
        src_mac: [u8; 6],
        v6: bool,
    },
    /// A TCP SYN without ACK: a connection attempt.
    TcpSyn {
        src_mac: [u8; 6],
        src: Ipv4Addr,
        dst: Ipv4Addr,
        dport: u16,
    },
    /// Any other IPv4 packet.
    Ipv4 {
        src_mac: [u8; 6],
        src: Ipv4Addr,
        dst: Ipv4Addr,
    },
    Other,
}

pub fn read(path: &Path) -> Vec<Packet> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert!(data.len() >= 24, "{}: not a pcap file", path.display());
    let magic = u32::from_le_bytes(data[0..4].try_into().unwrap());
    let le = match magic {
        0xa1b2c3d4 | 0xa1b23c4d => true,
        0xd4c3b2a1 | 0x4d3cb2a1 => false,
        _ => panic!("{}: not a pcap file (magic {magic:#x})", path.display()),
    };
    let u32_at = |o: usize| {
        let b: [u8; 4] = data[o..o + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    assert_eq!(u32_at(20), 1, "{}: not Ethernet frames", path.display());
    let mut packets = vec![];
    let mut off = 24;
    while off + 16 <= data.len() {
        let len = u32_at(off + 8) as usize;
        let start = off + 16;
        let Some(frame) = data.get(start..start + len) else { break };
        packets.push(parse(frame));
        off = start + len;
    }
    packets
}

fn parse(f: &[u8]) -> Packet {
    if f.len() < 14 {
        return Packet::Other;
    }
    let src_mac: [u8; 6] = f[6..12].try_into().unwrap();
    let ethertype = u16::from_be_bytes([f[12], f[13]]);
    let p = &f[14..];
    let be16 = |b: &[u8], o: usize| b.get(o..o + 2).map(|x| u16::from_be_bytes([x[0], x[1]]));
    match ethertype {
        0x0800 if p.len() >= 20 => {
            let ihl = usize::from(p[0] & 0x0f) * 4;
            let proto = p[9];
            let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
            let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
            let l4 = p.get(ihl..).unwrap_or(&[]);
            let (sport, dport) = (be16(l4, 0).unwrap_or(0), be16(l4, 2).unwrap_or(0));
            if proto == 17 && [67, 68].iter().any(|port| *port == sport || *port == dport) {
                return Packet::Dhcp { src_mac, v6: false };
            }
            if proto == 6 && l4.len() >= 14 && l4[13] & 0x12 == 0x02 {
                return Packet::TcpSyn { src_mac, src, dst, dport };
            }
            Packet::Ipv4 { src_mac, src, dst }
        }
        0x86dd if p.len() >= 40 => {
            // UDP directly after the fixed header (DHCPv6 carries no extension headers).
            let l4 = &p[40..];
            let (sport, dport) = (be16(l4, 0).unwrap_or(0), be16(l4, 2).unwrap_or(0));
            if p[6] == 17 && [546, 547].iter().any(|port| *port == sport || *port == dport) {
                return Packet::Dhcp { src_mac, v6: true };
            }
            Packet::Other
        }
        _ => Packet::Other,
    }
}

/// `52:54:00:ab:cd:ef` as bytes.
pub fn mac(text: &str) -> [u8; 6] {
    let bytes: Vec<u8> = text.split(':').map(|b| u8::from_str_radix(b, 16).unwrap()).collect();
    bytes.try_into().unwrap()
}
