/// The text clean-up in front of CLIP's tokenizer (open_clip `_clean_lower`, identical to OpenAI
/// CLIP's): `whitespace_clean(basic_clean(text)).lower()` with
/// `basic_clean = html.unescape(html.unescape(ftfy.fix_text(text))).strip()`.
///
/// ftfy: the deterministic, context-free fixes of `ftfy.fix_text` (6.x defaults) are reproduced —
/// HTML references with ';' when the text has no '<', C1 controls read as Windows-1252, Latin
/// ligatures, full/half-width forms, curly quotes, ANSI terminal escapes, control characters,
/// NFC. Not reproduced: mojibake repair (`fix_encoding`: "cafÃ©" → "café"), which relies on
/// ftfy's statistical heuristics; such text is tokenised as it stands.
public enum TextClean {
    /// The full clean-up, returning the Unicode scalars the pre-tokeniser sees.
    public static func clean(_ text: String) -> [Unicode.Scalar] {
        var s = ftfy(Array(text.unicodeScalars))
        s = HTMLEntities.unescape(HTMLEntities.unescape(s))
        // strip + " ".join(text.split()) (Python str.isspace), then lower()
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var pendingSpace = false
        for c in s {
            if isSpace(c) { pendingSpace = !out.isEmpty; continue }
            if pendingSpace { out.append(" "); pendingSpace = false }
            out.append(c)
        }
        return lower(out)
    }

    /// Python `str.isspace`: bidi classes WS, B, S or category Zs.
    @inlinable
    public static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// The ftfy subset described above, in ftfy's order.
    static func ftfy(_ input: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var s = input
        if !s.contains("<") { s = HTMLEntities.unescapeStrict(s) }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        // fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes (per scalar)
        for c in s {
            let v = c.value
            var r = c
            if (0x80...0x9F).contains(v) { r = Unicode.Scalar(HTMLEntities.cp1252[Int(v - 0x80)])! }
            let expanded = ligatures[r.value].map { Array($0.unicodeScalars) } ?? [r]
            for e in expanded {
                for w in width(e) ?? [e] {
                    switch w.value {
                    case 0x02BC, 0x2018...0x201B: out.append("'")
                    case 0x201C...0x201F: out.append("\"")
                    default: out.append(w)
                    }
                }
            }
        }
        // fix_line_breaks is a no-op here (every line break is whitespace for whitespace_clean).
        // remove_terminal_escapes: ESC '[' [0-9;]* [A-Za-z]
        if out.contains("\u{1B}") {
            var t: [Unicode.Scalar] = []
            var i = 0
            while i < out.count {
                if out[i] == "\u{1B}", i + 1 < out.count, out[i + 1] == "[" {
                    var j = i + 2
                    while j < out.count, (0x30...0x39).contains(out[j].value) || out[j] == ";" { j += 1 }
                    if j < out.count, out[j].isASCII, out[j].properties.isAlphabetic { i = j + 1; continue }
                }
                t.append(out[i]); i += 1
            }
            out = t
        }
        // remove_control_chars
        out.removeAll { c in
            switch c.value {
            case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC: return true
            default: return false
            }
        }
        // NFC
        let str = String(String.UnicodeScalarView(out))
        return Array(String(decoding: str._nfcCodeUnits, as: UTF8.self).unicodeScalars)
    }

    static let ligatures: [UInt32: String] = [
        0x132: "IJ", 0x133: "ij", 0x149: "\u{2BC}n", 0x1F1: "DZ", 0x1F2: "Dz", 0x1F3: "dz",
        0x1C4: "D\u{17D}", 0x1C5: "D\u{17E}", 0x1C6: "d\u{17E}", 0x1C7: "LJ", 0x1C8: "Lj", 0x1C9: "lj",
        0x1CA: "NJ", 0x1CB: "Nj", 0x1CC: "nj", 0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi",
        0xFB04: "ffl", 0xFB05: "\u{17F}t", 0xFB06: "st",
    ]

    /// ftfy's WIDTH_MAP: U+3000 → ' ', and NFKC of U+FF01...U+FFEF where it differs.
    static func width(_ c: Unicode.Scalar) -> [Unicode.Scalar]? {
        let v = c.value
        if v == 0x3000 { return [" "] }
        guard (0xFF01...0xFFEF).contains(v) else { return nil }
        if v <= 0xFF5E { return [Unicode.Scalar(v - 0xFEE0)!] }
        if let m = halfwidthMap[v] { return m.map { Unicode.Scalar($0)! } }
        return nil
    }

    /// NFKC of U+FF5F...U+FFEF (halfwidth CJK punctuation, katakana, hangul; fullwidth signs).
    static let halfwidthMap: [UInt32: [UInt32]] = {
        var m: [UInt32: [UInt32]] = [0xFF5F: [0x2985], 0xFF60: [0x2986], 0xFF61: [0x3002], 0xFF62: [0x300C],
                                     0xFF63: [0x300D], 0xFF64: [0x3001], 0xFF65: [0x30FB],
                                     0xFFE0: [0xA2], 0xFFE1: [0xA3], 0xFFE2: [0xAC], 0xFFE3: [0x20, 0x304],
                                     0xFFE4: [0xA6], 0xFFE5: [0xA5], 0xFFE6: [0x20A9],
                                     0xFFE8: [0x2502], 0xFFE9: [0x2190], 0xFFEA: [0x2191], 0xFFEB: [0x2192],
                                     0xFFEC: [0x2193], 0xFFED: [0x25A0], 0xFFEE: [0x25CB]]
        // halfwidth katakana U+FF66...U+FF9D
        let kana: [UInt32] = [0x30F2, 0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9, 0x30E3, 0x30E5, 0x30E7, 0x30C3, 0x30FC,
                              0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA, 0x30AB, 0x30AD, 0x30AF, 0x30B1, 0x30B3,
                              0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD, 0x30BF, 0x30C1, 0x30C4, 0x30C6, 0x30C8,
                              0x30CA, 0x30CB, 0x30CC, 0x30CD, 0x30CE, 0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB,
                              0x30DE, 0x30DF, 0x30E0, 0x30E1, 0x30E2, 0x30E4, 0x30E6, 0x30E8, 0x30E9, 0x30EA,
                              0x30EB, 0x30EC, 0x30ED, 0x30EF, 0x30F3]
        for (i, k) in kana.enumerated() { m[0xFF66 + UInt32(i)] = [k] }
        m[0xFF9E] = [0x3099]; m[0xFF9F] = [0x309A]
        // halfwidth hangul jamo U+FFA0...U+FFDC
        let jamo: [(UInt32, UInt32)] = [(0xFFA0, 0x3164)] + (0xFFA1...0xFFBE).map { ($0, 0x3131 + $0 - 0xFFA1) }
            + (0xFFC2...0xFFC7).map { ($0, 0x314F + $0 - 0xFFC2) } + (0xFFCA...0xFFCF).map { ($0, 0x3155 + $0 - 0xFFCA) }
            + (0xFFD2...0xFFD7).map { ($0, 0x315B + $0 - 0xFFD2) } + (0xFFDA...0xFFDC).map { ($0, 0x3161 + $0 - 0xFFDA) }
        for (k, v) in jamo { m[k] = [v] }
        return m
    }()

    /// Python `str.lower()`: full lower-case mappings plus the Final_Sigma rule.
    static func lower(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for (i, c) in s.enumerated() {
            if c.isASCII {
                out.append((0x41...0x5A).contains(c.value) ? Unicode.Scalar(c.value + 32)! : c)
            } else if c.value == 0x3A3 {
                out.append(finalSigma(s, i) ? "\u{3C2}" : "\u{3C3}")
            } else {
                out += c.properties.lowercaseMapping.unicodeScalars
            }
        }
        return out
    }

    /// Σ at `i` is final: preceded by a cased letter and not followed by one (case-ignorables skipped).
    static func finalSigma(_ s: [Unicode.Scalar], _ i: Int) -> Bool {
        var j = i - 1
        while j >= 0, s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0, s[j].properties.isCased else { return false }
        var k = i + 1
        while k < s.count, s[k].properties.isCaseIgnorable { k += 1 }
        return !(k < s.count && s[k].properties.isCased)
    }
}
