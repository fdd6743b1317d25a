/// HTML character references, decoded exactly as Python's `html.unescape` does (and the stricter
/// semicolon-only form that `ftfy.fix_text` applies first). Used by the CLIP text clean-up.
public enum HTMLEntities {
    /// name (with or without the trailing ';') → replacement scalars.
    static let named: [String: [Unicode.Scalar]] = {
        var d: [String: [Unicode.Scalar]] = [:]
        d.reserveCapacity(2300)
        for line in table.split(separator: "\n") {
            guard let sp = line.firstIndex(of: " ") else { continue }
            let name = String(line[..<sp])
            let scalars = line[line.index(after: sp)...].split(separator: ",").compactMap { UInt32($0, radix: 16).flatMap(Unicode.Scalar.init) }
            d[name] = scalars
        }
        return d
    }()

    /// Windows-1252 for 0x80...0x9F (undefined bytes map to themselves), as html.unescape's
    /// `_invalid_charrefs` and ftfy's "sloppy-windows-1252" C1 fix.
    static let cp1252: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x192, 0x201E, 0x2026, 0x2020, 0x2021, 0x2C6, 0x2030, 0x160, 0x2039, 0x152, 0x8D, 0x17D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x2DC, 0x2122, 0x161, 0x203A, 0x153, 0x9D, 0x17E, 0x178,
    ]

    /// The replacement of a numeric reference per the HTML spec (html.unescape's rules).
    static func numeric(_ n: UInt64) -> [Unicode.Scalar] {
        if n == 0 { return ["\u{FFFD}"] }
        if n == 0x0D { return ["\r"] }
        if (0x80...0x9F).contains(n) { return [Unicode.Scalar(cp1252[Int(n - 0x80)])!] }
        if (0xD800...0xDFFF).contains(n) || n > 0x10FFFF { return ["\u{FFFD}"] }
        if (0x1...0x8).contains(n) || n == 0xB || (0xE...0x1F).contains(n) || (0x7F...0x9F).contains(n)
            || (0xFDD0...0xFDEF).contains(n) || (n & 0xFFFE) == 0xFFFE { return [] }
        return [Unicode.Scalar(UInt32(n))!]
    }

    /// Python `html.unescape`: `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`.
    public static func unescape(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("&") else { return s }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        let n = s.count
        while i < n {
            let c = s[i]
            guard c == "&", i + 1 < n else { out.append(c); i += 1; continue }
            if s[i + 1] == "#" {
                var j = i + 2
                var hex = false
                if j < n, s[j] == "x" || s[j] == "X" { hex = true; j += 1 }
                let start = j
                var value: UInt64 = 0
                while j < n, let d = digit(s[j], hex: hex) {
                    value = min(value &* (hex ? 16 : 10) &+ UInt64(d), 0x1_0000_0000) // saturate above U+10FFFF
                    j += 1
                }
                if j == start { out.append(c); i += 1; continue } // "&#" or "&#x" without digits: literal
                if j < n, s[j] == ";" { j += 1 }
                out += numeric(value)
                i = j
                continue
            }
            // named: up to 32 chars of [^\t\n\f <&#;], then an optional ';'
            var j = i + 1
            while j < n, j - (i + 1) < 32, !isNameStop(s[j]) { j += 1 }
            if j == i + 1 { out.append(c); i += 1; continue }
            var name = String(String.UnicodeScalarView(s[(i + 1)..<j]))
            var end = j
            if j < n, s[j] == ";" { name += ";"; end = j + 1 }
            if let r = named[name] { out += r; i = end; continue }
            // longest legacy prefix (at least 2 chars) as html.unescape does
            let scal = Array(name.unicodeScalars)
            var matched = false
            if scal.count > 2 {
                for x in stride(from: scal.count - 1, through: 2, by: -1) {
                    let pre = String(String.UnicodeScalarView(scal[0..<x]))
                    if let r = named[pre] { out += r; out += scal[x...]; matched = true; break }
                }
            }
            if !matched { out.append("&"); out += scal }
            i = end
        }
        return out
    }

    /// ftfy's `unescape_html`: only `&#?[0-9A-Za-z]{1,24};` references that decode (named ones
    /// must be in the HTML5 table with their ';').
    static func unescapeStrict(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("&") else { return s }
        var out: [Unicode.Scalar] = []
        var i = 0
        let n = s.count
        while i < n {
            guard s[i] == "&" else { out.append(s[i]); i += 1; continue }
            var j = i + 1
            let hash = j < n && s[j] == "#"
            if hash { j += 1 }
            let start = j
            while j < n, j - start < 25, s[j].isASCII, isAlnum(s[j]) { j += 1 }
            let len = j - start
            guard len >= 1, len <= 24, j < n, s[j] == ";" else { out.append("&"); i += 1; continue }
            let body = String(String.UnicodeScalarView(s[start..<j]))
            if hash {
                // html.unescape of "&#...;": decimal or x-hex, else left alone
                let lower = body.lowercased()
                var v: UInt64?
                if lower.hasPrefix("x") { v = parse(lower.dropFirst(), radix: 16) } else { v = parse(Substring(lower), radix: 10) }
                if let v { out += numeric(v); i = j + 1; continue }
            } else if let r = named[body + ";"] {
                out += r; i = j + 1; continue
            }
            out += s[i...j]
            i = j + 1
        }
        return out
    }

    private static func parse(_ s: Substring, radix: Int) -> UInt64? {
        guard !s.isEmpty else { return nil }
        var v: UInt64 = 0
        for ch in s.unicodeScalars {
            guard let d = digit(ch, hex: radix == 16) else { return nil }
            v = min(v &* UInt64(radix) &+ UInt64(d), 0x1_0000_0000)
        }
        return v
    }

    private static func digit(_ c: Unicode.Scalar, hex: Bool) -> Int? {
        switch c.value {
        case 0x30...0x39: return Int(c.value - 0x30)
        case 0x41...0x46 where hex: return Int(c.value - 0x41 + 10)
        case 0x61...0x66 where hex: return Int(c.value - 0x61 + 10)
        default: return nil
        }
    }

    private static func isAlnum(_ c: Unicode.Scalar) -> Bool {
        (0x30...0x39).contains(c.value) || (0x41...0x5A).contains(c.value) || (0x61...0x7A).contains(c.value)
    }

    private static func isNameStop(_ c: Unicode.Scalar) -> Bool {
        c == "\t" || c == "\n" || c == "\u{0C}" || c == " " || c == "<" || c == "&" || c == "#" || c == ";"
    }
}
