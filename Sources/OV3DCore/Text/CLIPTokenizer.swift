/// CLIP's byte-level BPE tokenizer, identical to OpenAI CLIP's / open_clip's `SimpleTokenizer`
/// (clean = "lower", no reduction mask).
///
/// Pipeline: `TextClean.clean` → pre-tokenisation by the pattern
/// `<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
/// (case-insensitive, implemented by hand on Unicode general categories) → UTF-8 bytes mapped to
/// CLIP's 256 byte symbols, the last one marked end-of-word → BPE with the merge ranks of the
/// vocabulary file → ids. `tokenize` adds `<start_of_text>`/`<end_of_text>` and pads with 0 to the
/// context length; longer texts are cut to `contextLength` tokens whose last is
/// `<end_of_text>` (open_clip's truncation).
///
/// Immutable after loading; safe to share between threads.
public final class CLIPTokenizer: Sendable {
    public static let contextLength = 77
    /// Texts longer than this many UTF-8 bytes are rejected (CLIP sees at most 75 tokens anyway;
    /// the bound keeps BPE's quadratic worst case small).
    public static let maxTextBytes = 16 << 10

    public let startToken: Int32
    public let endToken: Int32
    public let vocabularySize: Int
    /// Byte value → id of its symbol (end-of-word variant: + 256).
    private let byteID: [Int32]
    /// (left id << 32 | right id) → (rank, merged id).
    private let merges: [UInt64: Merge]

    struct Merge: Sendable { let rank: Int32; let merged: Int32 }

    /// Loads `bpe_simple_vocab_16e6.txt.gz` (gzip or plain text): a version line, then merges.
    public convenience init(vocabularyPath path: String) throws {
        let raw = try FileIO.read(path, maxBytes: 64 << 20)
        do {
            let text = Gzip.sniff(raw) ? try Gzip.decompress(raw, maxOutput: 64 << 20) : raw
            try self.init(mergesFile: text)
        } catch let e as OV3DError { throw e.context("CLIP vocabulary \(path)") }
    }

    /// Parses the (decompressed) merges file. Uses merges 1...48894 as CLIP does.
    public init(mergesFile bytes: [UInt8], mergeCount: Int = 49152 - 256 - 2) throws {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw OV3DError.format("the merges file is not UTF-8") }
        // byte symbols in CLIP's order (bytes_to_unicode)
        var bs: [Int] = Array(33...126) + Array(161...172) + Array(174...255)
        var cs = bs
        var extra = 0
        for b in 0..<256 where !bs.contains(b) { bs.append(b); cs.append(256 + extra); extra += 1 }
        try require(mergeCount >= 0 && mergeCount <= 1 << 20, "merge count \(mergeCount) outside 0...2^20")
        // Sized for this merge count (the full CLIP list: 49408 entries), not always for CLIP's.
        var encoder: [String: Int32] = [:]
        encoder.reserveCapacity(514 + mergeCount)
        var vocab: [String] = []
        vocab.reserveCapacity(514 + mergeCount)
        for c in cs { vocab.append(String(Character(Unicode.Scalar(UInt32(c))!))) }
        for c in cs { vocab.append(String(Character(Unicode.Scalar(UInt32(c))!)) + "</w>") }
        var byteID = [Int32](repeating: 0, count: 256)
        for (i, b) in bs.enumerated() { byteID[b] = Int32(i) }

        var lines = text.split(separator: "\n", maxSplits: mergeCount + 1, omittingEmptySubsequences: false)
        try requireFormat(lines.count > mergeCount, "the merges file has \(max(0, lines.count - 1)) merges; CLIP needs \(mergeCount)")
        lines = Array(lines[1...mergeCount])
        var pairs: [(Substring, Substring)] = []
        pairs.reserveCapacity(mergeCount)
        for (n, line) in lines.enumerated() {
            let parts = line.split(whereSeparator: { c in c.unicodeScalars.allSatisfy { TextClean.isSpace($0) } })
            try requireFormat(parts.count == 2, "merge line \(n + 2) is not two symbols: \"\(line.prefix(40))\"")
            pairs.append((parts[0], parts[1]))
            vocab.append(String(parts[0]) + String(parts[1]))
        }
        vocab.append("<start_of_text>")
        vocab.append("<end_of_text>")
        for (i, v) in vocab.enumerated() { encoder[v] = Int32(i) } // later duplicates win, as dict(zip())
        var merges: [UInt64: Merge] = [:]
        merges.reserveCapacity(mergeCount)
        for (r, (a, b)) in pairs.enumerated() {
            guard let ia = encoder[String(a)], let ib = encoder[String(b)] else {
                throw OV3DError.format("merge line \(r + 2) uses a symbol that no earlier line defines")
            }
            let m = encoder[String(a) + String(b)]!
            merges[UInt64(UInt32(ia)) << 32 | UInt64(UInt32(ib))] = Merge(rank: Int32(r), merged: m)
        }
        self.byteID = byteID
        self.merges = merges
        self.startToken = encoder["<start_of_text>"]!
        self.endToken = encoder["<end_of_text>"]!
        self.vocabularySize = vocab.count
    }

    /// Token ids of `text` without start/end tokens. At most `limit` ids are produced (the rest of
    /// the text cannot influence the first `limit`).
    public func encode(_ text: String, limit: Int = .max) throws -> [Int32] {
        try require(text.utf8.count <= CLIPTokenizer.maxTextBytes,
                    "text of \(text.utf8.count) bytes is longer than the \(CLIPTokenizer.maxTextBytes)-byte limit")
        let s = TextClean.clean(text)
        var ids: [Int32] = []
        var i = 0
        let n = s.count
        var word: [UInt8] = []
        while i < n, ids.count < limit {
            let (end, kind) = CLIPTokenizer.nextPiece(s, i)
            defer { i = end }
            switch kind {
            case .skip: continue
            case .start: ids.append(startToken)
            case .end: ids.append(endToken)
            case .text:
                word.removeAll(keepingCapacity: true)
                for c in s[i..<end] { UTF8.encode(c) { word.append($0) } }
                bpe(word, into: &ids)
            }
        }
        if ids.count > limit { ids.removeLast(ids.count - limit) }
        return ids
    }

    /// `contextLength` ids: start, text tokens, end, zero padding; truncated keeping the end token.
    public func tokenize(_ text: String, contextLength: Int = CLIPTokenizer.contextLength) throws -> [Int32] {
        try require(contextLength >= 2, "context length must be at least 2")
        var t = [startToken] + (try encode(text, limit: contextLength - 1)) + [endToken]
        if t.count > contextLength { t.removeLast(t.count - contextLength); t[contextLength - 1] = endToken }
        t += [Int32](repeating: 0, count: contextLength - t.count)
        return t
    }

    enum Piece { case skip, text, start, end }

    /// Scans one pre-token starting at `i`: returns its end and what it is (whitespace is skipped).
    static func nextPiece(_ s: [Unicode.Scalar], _ i: Int) -> (Int, Piece) {
        let n = s.count
        let c = s[i]
        if c == "<" {
            for (k, sp) in specials.enumerated() where i + sp.count <= n && Array(s[i..<(i + sp.count)]) == sp {
                return (i + sp.count, k == 0 ? .start : .end)
            }
        }
        if c == "'", i + 1 < n {
            // 's 't 're 've 'm 'll 'd in this order (IGNORECASE; the text is lower case already,
            // but U+017F long s case-folds to s)
            let a = fold(s[i + 1])
            if a == "s" || a == "t" || a == "m" || a == "d" { return (i + 2, .text) }
            if i + 2 < n {
                let b = fold(s[i + 2])
                if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return (i + 3, .text) }
            }
        }
        if isLetter(c) {
            var j = i + 1
            while j < n, isLetter(s[j]) { j += 1 }
            return (j, .text)
        }
        if isNumber(c) { return (i + 1, .text) }
        if TextClean.isSpace(c) { return (i + 1, .skip) }
        var j = i + 1
        while j < n, !TextClean.isSpace(s[j]), !isLetter(s[j]), !isNumber(s[j]) { j += 1 }
        return (j, .text)
    }

    static let specials: [[Unicode.Scalar]] = [Array("<start_of_text>".unicodeScalars), Array("<end_of_text>".unicodeScalars)]

    @inline(__always) static func fold(_ c: Unicode.Scalar) -> Unicode.Scalar {
        switch c.value {
        case 0x17F: return "s"
        case 0x41...0x5A: return Unicode.Scalar(c.value + 32)!
        case 0x212A: return "k"
        default: return c
        }
    }

    @inline(__always) static func isLetter(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return (0x41...0x5A).contains(c.value) || (0x61...0x7A).contains(c.value) }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    @inline(__always) static func isNumber(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return (0x30...0x39).contains(c.value) }
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// Byte-level BPE of one pre-token (its UTF-8 bytes), appending the ids.
    func bpe(_ bytes: [UInt8], into ids: inout [Int32]) {
        var w = bytes.map { byteID[Int($0)] }
        w[w.count - 1] += 256 // end-of-word variant
        while w.count > 1 {
            var best = Int32.max
            var bm = Merge(rank: 0, merged: 0)
            var first: Int32 = 0, second: Int32 = 0
            for k in 0..<(w.count - 1) {
                if let m = merges[UInt64(UInt32(w[k])) << 32 | UInt64(UInt32(w[k + 1]))], m.rank < best {
                    best = m.rank; bm = m; first = w[k]; second = w[k + 1]
                }
            }
            if best == Int32.max { break }
            var nw: [Int32] = []
            nw.reserveCapacity(w.count)
            var k = 0
            while k < w.count {
                if k + 1 < w.count, w[k] == first, w[k + 1] == second { nw.append(bm.merged); k += 2 } else { nw.append(w[k]); k += 1 }
            }
            w = nw
        }
        ids += w
    }
}
