//! The negative corpus's DER mutations: a valid request parsed into its TLV tree, and each
//! node written back wrong in one way (truncated or stretched length, long-form or
//! indefinite length, another tag).

/// A DER TLV tree (single-octet tags, as every TimeStampReq field has).
#[derive(Clone)]
pub enum Node {
    Prim(u8, Vec<u8>),
    Cons(u8, Vec<Node>),
}

pub fn parse(der: &[u8]) -> (Node, usize) {
    let tag = der[0];
    let (len, hdr) = if der[1] < 0x80 {
        (der[1] as usize, 2)
    } else {
        let n = (der[1] & 0x7f) as usize;
        let mut l = 0usize;
        for b in &der[2..2 + n] {
            l = (l << 8) | *b as usize;
        }
        (l, 2 + n)
    };
    let body = &der[hdr..hdr + len];
    let node = if tag & 0x20 != 0 {
        let mut kids = Vec::new();
        let mut at = 0;
        while at < body.len() {
            let (k, used) = parse(&body[at..]);
            kids.push(k);
            at += used;
        }
        Node::Cons(tag, kids)
    } else {
        Node::Prim(tag, body.to_vec())
    };
    (node, hdr + len)
}

/// How the node at one path is encoded wrongly.
#[derive(Clone, Copy)]
pub enum Twist {
    LengthDelta(i64),
    LongForm,
    Indefinite,
    Tag(u8),
}

pub fn length_octets(len: usize, long: bool) -> Vec<u8> {
    if len < 0x80 && !long {
        return vec![len as u8];
    }
    let bytes: Vec<u8> = len
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    let bytes = if bytes.is_empty() { vec![0] } else { bytes };
    let mut v = vec![0x80 | bytes.len() as u8];
    v.extend(bytes);
    v
}

pub fn encode(n: &Node, path: &mut Vec<usize>, target: &[usize], twist: Twist) -> Vec<u8> {
    let here = path.as_slice() == target;
    let (mut tag, body) = match n {
        Node::Prim(t, v) => (*t, v.clone()),
        Node::Cons(t, kids) => {
            let mut b = Vec::new();
            for (i, k) in kids.iter().enumerate() {
                path.push(i);
                b.extend(encode(k, path, target, twist));
                path.pop();
            }
            (*t, b)
        }
    };
    let mut out = Vec::new();
    let mut len_octets = length_octets(body.len(), false);
    let mut eoc = false;
    if here {
        match twist {
            Twist::LengthDelta(d) => {
                let l = (body.len() as i64 + d).max(0) as usize;
                len_octets = length_octets(l, false);
            }
            Twist::LongForm => len_octets = length_octets(body.len(), true),
            Twist::Indefinite => {
                len_octets = vec![0x80];
                eoc = true;
            }
            Twist::Tag(t) => tag = t,
        }
    }
    out.push(tag);
    out.extend(len_octets);
    out.extend(body);
    if eoc {
        out.extend([0, 0]);
    }
    out
}

/// Every node's path, outermost first, and whether it is constructed.
pub fn paths(n: &Node, path: &mut Vec<usize>, out: &mut Vec<(Vec<usize>, u8, bool)>) {
    match n {
        Node::Prim(t, _) => out.push((path.clone(), *t, false)),
        Node::Cons(t, kids) => {
            out.push((path.clone(), *t, true));
            for (i, k) in kids.iter().enumerate() {
                path.push(i);
                paths(k, path, out);
                path.pop();
            }
        }
    }
}
