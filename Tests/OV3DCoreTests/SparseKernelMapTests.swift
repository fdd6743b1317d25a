import Testing
@testable import OV3DCore

/// A naive dense reference of ME's convolution written independently of the engine:
/// out[o] = bias + Σ_k Σ_{i = o + off_k·ts_in exists} in[i] · W[k].
private func naiveConv(inCoords: [[Int32]], inFeat: [Float], cin: Int, outCoords: [[Int32]], cout: Int,
                       kernelSize: Int, inStride: Int32, weights: [Float], bias: [Float]) -> [Float] {
    var index = [[Int32]: Int]()
    for (r, c) in inCoords.enumerated() { index[c] = r }
    let half = kernelSize % 2 == 1 ? kernelSize / 2 : 0
    var out = [Float](repeating: 0, count: outCoords.count * cout)
    for (o, oc) in outCoords.enumerated() {
        for c in 0..<cout { out[o * cout + c] = bias.isEmpty ? 0 : bias[c] }
        var k = 0
        for iz in 0..<kernelSize { for iy in 0..<kernelSize { for ix in 0..<kernelSize {
            let n = [oc[0] + Int32(ix - half) * inStride, oc[1] + Int32(iy - half) * inStride, oc[2] + Int32(iz - half) * inStride]
            if let i = index[n] {
                for a in 0..<cin { for b in 0..<cout {
                    out[o * cout + b] += inFeat[i * cin + a] * weights[(k * cin + a) * cout + b]
                } }
            }
            k += 1
        } } }
    }
    return out
}

private func rows(_ flat: [Int32]) -> [[Int32]] { stride(from: 0, to: flat.count, by: 3).map { Array(flat[$0..<$0 + 3]) } }

private func randomCloud(_ rng: inout SplitMix64, side: Int32, fill: Double, offset: Int32 = -5) -> [Int32] {
    var out = [Int32]()
    for z in 0..<side { for y in 0..<side { for x in 0..<side where Double.random(in: 0..<1, using: &rng) < fill {
        out += [x + offset, y + offset, z + offset]
    } } }
    return out
}

private func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

@Suite struct SparseKernelMapTests {
    @Test func offsetOrderMatchesMinkowskiEngine() {
        let k3 = KernelOffsets.offsets(kernelSize: 3, tensorStride: 1)
        #expect(Array(k3[0..<3]) == [-1, -1, -1])
        #expect(Array(k3[3..<6]) == [0, -1, -1])
        #expect(Array(k3[39..<42]) == [0, 0, 0])          // k = 13 centre
        #expect(Array(k3[3 * 14..<3 * 14 + 3]) == [1, 0, 0])
        let k2 = KernelOffsets.offsets(kernelSize: 2, tensorStride: 4)
        #expect(Array(k2[3..<6]) == [4, 0, 0])            // k = 1
        #expect(Array(k2[6..<9]) == [0, 4, 0])            // k = 2
        #expect(Array(k2[21..<24]) == [4, 4, 4])          // k = 7
        let k5 = KernelOffsets.offsets(kernelSize: 5, tensorStride: 1)
        #expect(Array(k5[3 * 62..<3 * 62 + 3]) == [0, 0, 0])
        #expect(Array(k5[3..<6]) == [-1, -2, -2])
    }

    /// minkowski-engine-semantics.md §8: x ∈ {0,1,3,4,5} (y = z = 0).
    @Test func oneDimensionalIllustration() throws {
        let input = try CoordinateMap(unique: [0, 0, 0, 1, 0, 0, 3, 0, 0, 4, 0, 0, 5, 0, 0])
        let cm = CoordinateManager(input: input, threads: 1)
        let s2 = try cm.map(stride: 2)
        #expect(s2.coords == [0, 0, 0, 2, 0, 0, 4, 0, 0])
        let down = try cm.kernelMap(kernelSize: 2, inStride: 1, stride: 2)
        // k = 0: 0->0, 4->4 ; k = 1: 1->0, 3->2, 5->4 (rows: in 0,1,3,4,5 = rows 0..4; out 0,2,4 = rows 0..2)
        #expect(down.pairCounts == [2, 3, 0, 0, 0, 0, 0, 0])
        #expect(Array(down.inRows[0..<2]) == [0, 3] && Array(down.outRows[0..<2]) == [0, 2])
        #expect(Array(down.inRows[2..<5]) == [1, 2, 4] && Array(down.outRows[2..<5]) == [0, 1, 2])
        let up = try cm.transposedKernelMap(kernelSize: 2, inStride: 2, stride: 2)
        #expect(up.inCount == 3 && up.outCount == 5)
        #expect(Array(up.outRows[2..<5]) == [1, 2, 4] && Array(up.inRows[2..<5]) == [0, 1, 2])
        // 3×3×3 at stride 2: output x=2 gathers 0 (dx = -1, k = 12), 2 (centre, k = 13), 4 (k = 14).
        let sub = try cm.kernelMap(kernelSize: 3, inStride: 2, stride: 1)
        #expect(sub.pairCount(12) == 2 && sub.pairCount(13) == 3 && sub.pairCount(14) == 2 && sub.totalPairs == 7)
        #expect(sub.identityOffset == 13)
        // cached: the same map object contents on a second request
        #expect(try cm.kernelMap(kernelSize: 3, inStride: 2, stride: 1).totalPairs == 7)
    }

    @Test func negativeCoordinatesFloorCorrectly() throws {
        let m = try CoordinateMap(unique: [-1, -3, 5, -4, 0, 7])
        let s = try m.strided(by: 4)
        #expect(s.coords == [-4, -4, 4, -4, 0, 4])
    }

    @Test(arguments: [(3, Int32(1), 1), (5, Int32(1), 1), (2, Int32(2), 1), (3, Int32(2), 2), (3, Int32(1), 2), (1, Int32(1), 1)])
    func convolutionMatchesNaiveReference(kernelSize: Int, stride: Int32, threads: Int) throws {
        var rng = SplitMix64(seed: UInt64(kernelSize * 100 + Int(stride) * 10 + threads))
        let coords = randomCloud(&rng, side: 9, fill: 0.35)
        let cin = kernelSize == 5 ? 3 : 5, cout = kernelSize == 5 ? 12 : 7   // k5: the stem's direct path
        let n = coords.count / 3
        let feat = (0..<n * cin).map { _ in Float.random(in: -1...1, using: &rng) }
        let vol = kernelSize * kernelSize * kernelSize
        let w = (0..<vol * cin * cout).map { _ in Float.random(in: -1...1, using: &rng) }
        let bias = (0..<cout).map { _ in Float.random(in: -1...1, using: &rng) }
        let cm = CoordinateManager(input: try CoordinateMap(unique: coords), threads: threads)
        let km = try cm.kernelMap(kernelSize: kernelSize, inStride: 1, stride: stride)
        let outMap = try cm.map(stride: stride)
        let ws = Workspace()
        let x = try ws.matrix(rows: n, cols: cin)
        feat.withUnsafeBufferPointer { x.data.update(from: $0.baseAddress!, count: feat.count) }
        let out = try ws.matrix(rows: outMap.count, cols: cout)
        try SparseConvolution.forward(x, weights: try ConvWeights(kernelSize: kernelSize, cin: cin, cout: cout, weights: w, bias: bias),
                                      map: km, into: out, workspace: ws, threads: threads)
        let ref = naiveConv(inCoords: rows(coords), inFeat: feat, cin: cin, outCoords: rows(outMap.coords), cout: cout,
                            kernelSize: kernelSize, inStride: 1, weights: w, bias: bias)
        #expect(maxAbsDiff(out.toArray(), ref) < 1e-4)
    }

    /// Transposed conv: out[f] = in[coarse(f)] · W[k(f)], checked against a direct loop.
    @Test func transposedConvolutionMatchesDirectFormula() throws {
        var rng = SplitMix64(seed: 7)
        let coords = randomCloud(&rng, side: 8, fill: 0.4)
        let fine = try CoordinateMap(unique: coords)
        let cm = CoordinateManager(input: fine, threads: 2)
        let coarse = try cm.map(stride: 2)
        let km = try cm.transposedKernelMap(kernelSize: 2, inStride: 2, stride: 2)
        let cin = 3, cout = 4
        let feat = (0..<coarse.count * cin).map { _ in Float.random(in: -1...1, using: &rng) }
        let w = (0..<8 * cin * cout).map { _ in Float.random(in: -1...1, using: &rng) }
        let ws = Workspace()
        let x = try ws.matrix(rows: coarse.count, cols: cin)
        feat.withUnsafeBufferPointer { x.data.update(from: $0.baseAddress!, count: feat.count) }
        let out = try ws.matrix(rows: fine.count, cols: cout)
        try SparseConvolution.forward(x, weights: try ConvWeights(kernelSize: 2, cin: cin, cout: cout, weights: w),
                                      map: km, into: out, workspace: ws, threads: 2)
        var index = [[Int32]: Int]()
        for (r, c) in rows(coarse.coords).enumerated() { index[c] = r }
        var ref = [Float](repeating: 0, count: fine.count * cout)
        for (f, c) in rows(coords).enumerated() {
            let base = c.map { CoordinateMap.floorMultiple($0, 2) }
            let k = Int((c[0] - base[0]) + 2 * (c[1] - base[1]) + 4 * (c[2] - base[2]))
            let i = index[base]!
            for b in 0..<cout { for a in 0..<cin { ref[f * cout + b] += feat[i * cin + a] * w[(k * cin + a) * cout + b] } }
        }
        #expect(maxAbsDiff(out.toArray(), ref) < 1e-5)
    }

    @Test func kernelMapIsSymmetricForOddKernels() throws {
        var rng = SplitMix64(seed: 3)
        let cm = CoordinateManager(input: try CoordinateMap(unique: randomCloud(&rng, side: 10, fill: 0.3)), threads: 2)
        let km = try cm.kernelMap(kernelSize: 3, inStride: 1, stride: 1)
        let c = km.pairCounts
        for k in 0..<27 { #expect(c[k] == c[26 - k]) }
        #expect(c[13] == km.inCount)
    }

    @Test func rejectsBadCoordinates() {
        #expect(throws: OV3DError.self) { try CoordinateMap(unique: [0, 0, 0, 0, 0, 0]) }             // duplicate
        #expect(throws: OV3DError.self) { try CoordinateMap(unique: [1 << 20, 0, 0]) }                // beyond 2^20
        #expect(throws: OV3DError.self) { try CoordinateMap(unique: [0, -(1 << 20) - 1, 0]) }
        #expect(throws: OV3DError.self) { try CoordinateMap(unique: [0, 0]) }                         // not x y z
    }

    @Test func neighboursAtTheRangeLimitAreSkipped() throws {
        let edge = CoordinateKey.limit - 1
        let cm = CoordinateManager(input: try CoordinateMap(unique: [edge, edge, edge, -CoordinateKey.limit, 0, 0]), threads: 1)
        let km = try cm.kernelMap(kernelSize: 5, inStride: 1, stride: 1)
        #expect(km.totalPairs == 2)
    }
}

@Suite struct VoxelizerTests {
    /// float64 quantisation: 1.54f·50 = 76.99999809 in float64 → 76 (float32 would give 77).
    @Test func quantisesInFloat64() throws {
        let r = try Voxelizer.voxelize(positions: [0, 0, 0, 1.54, 0, 0], voxelSize: 0.02)
        #expect(r.voxelCount == 2)
        let xs = Set(stride(from: 0, to: r.coords.count, by: 3).map { r.coords[$0] })
        #expect(xs == [0, 76])
    }

    @Test func firstPointRepresentsAndInverseMapsBack() throws {
        // points 0 and 2 share a voxel; 1 is alone; shifted to min 0.
        let p: [Float] = [1.001, 2.001, 3.001, -0.5, 2.0, 3.0, 1.009, 2.009, 3.009]
        let r = try Voxelizer.voxelize(positions: p, voxelSize: 0.02)
        #expect(r.voxelCount == 2)
        #expect(r.inverse[0] == r.inverse[2] && r.inverse[0] != r.inverse[1])
        #expect(r.representative[Int(r.inverse[0])] == 0)
        #expect(r.coords.min() == 0)
        for i in 0..<3 { #expect(r.representative[Int(r.inverse[i])] <= Int32(i)) }
    }

    @Test func augmentationIsOptionalAndDeterministic() throws {
        let p: [Float] = (0..<300).map { Float($0 % 97) * 0.013 }
        let a = try Voxelizer.voxelize(positions: p, voxelSize: 0.02, augmentation: .init(seed: 5))
        let b = try Voxelizer.voxelize(positions: p, voxelSize: 0.02, augmentation: .init(seed: 5))
        let plain = try Voxelizer.voxelize(positions: p, voxelSize: 0.02)
        #expect(a.coords == b.coords)
        #expect(a.coords != plain.coords)
    }

    @Test func rejectsBadInput() {
        #expect(throws: OV3DError.self) { try Voxelizer.voxelize(positions: [], voxelSize: 0.02) }
        #expect(throws: OV3DError.self) { try Voxelizer.voxelize(positions: [0, .nan, 0], voxelSize: 0.02) }
        #expect(throws: OV3DError.self) { try Voxelizer.voxelize(positions: [0, .infinity, 0], voxelSize: 0.02) }
        #expect(throws: OV3DError.self) { try Voxelizer.voxelize(positions: [0, 0, 0, 30000, 0, 0], voxelSize: 0.02) } // 1.5M voxels
        #expect(throws: OV3DError.self) { try Voxelizer.voxelize(positions: [0, 0, 0], voxelSize: 0) }
        #expect(throws: OV3DError.self) { try Voxelizer.voxelize(positions: [0, 0, 0], voxelSize: .nan) }
        #expect(throws: OV3DError.self) { try Voxelizer.voxelize(positions: [0, 0, 0, 3.4e38, 0, 0], voxelSize: 1e-30) }
    }

    /// The hash-map voxeliser gives exactly what sorting every point by (FNV-1 hash, key, index)
    /// gives (the previous implementation, kept here as the reference): coordinates, row order,
    /// representatives and inverse map, with duplicates, negative and spread-out coordinates.
    @Test func matchesSortingEveryPoint() throws {
        var rng = SplitMix64(seed: 11)
        for (n, extent, voxel) in [(1, 1.0, 0.02), (500, 0.2, 0.02), (5000, 3.0, 0.05), (20000, 40.0, 0.1)] {
            var p = (0..<(3 * n)).map { _ in Float((Double(rng.next() % 1_000_000) / 1e6 - 0.3) * extent) }
            for i in stride(from: 0, to: n, by: 7) where i + 1 < n { for a in 0..<3 { p[3 * (i + 1) + a] = p[3 * i + a] } }
            let r = try Voxelizer.voxelize(positions: p, voxelSize: voxel)
            let ref = Self.sortEveryPoint(p, voxel)
            #expect(r.coords == ref.coords && r.representative == ref.representative && r.inverse == ref.inverse)
        }
    }

    static func sortEveryPoint(_ p: [Float], _ voxel: Double) -> (coords: [Int32], representative: [Int32], inverse: [Int32]) {
        let n = p.count / 3, s = 1 / voxel
        let q = p.map { (Double($0) * s).rounded(.down) }
        var lo = [Double](repeating: .infinity, count: 3)
        for i in 0..<n { for a in 0..<3 { lo[a] = min(lo[a], q[3 * i + a]) } }
        var order = [(UInt64, UInt64, Int32)]()
        for i in 0..<n {
            var h: UInt64 = 14_695_981_039_346_656_037
            let c = (0..<3).map { Int32(q[3 * i + $0] - lo[$0]) }
            for v in c { h = h &* 1_099_511_628_211; h ^= UInt64(v) }
            order.append((h, CoordinateKey.pack(c[0], c[1], c[2]), Int32(i)))
        }
        order.sort { $0 < $1 }
        var coords = [Int32](), rep = [Int32](), inverse = [Int32](repeating: 0, count: n)
        var prev: (UInt64, UInt64)? = nil
        for e in order {
            if prev == nil || prev! != (e.0, e.1) {
                prev = (e.0, e.1)
                rep.append(e.2)
                for a in 0..<3 { coords.append(Int32(q[3 * Int(e.2) + a] - lo[a])) }
            }
            inverse[Int(e.2)] = Int32(rep.count - 1)
        }
        return (coords, rep, inverse)
    }

    /// A float voxel size (the C ABI's 0.05f = 0.0500000007...) voxelises as the double 0.05:
    /// 1.0 and 0.25 are exactly 20 and 5 voxels, not 19.99999970 and 4.99999992.
    @Test func floatVoxelSizeActsAsItsShortestDecimal() throws {
        #expect(Voxelizer.canonicalVoxelSize(Double(Float(0.05))) == 0.05)
        for v in [0.02, 0.05, 0.1, 0.025, 0.3, 1e-30, 2.5] { #expect(Voxelizer.canonicalVoxelSize(v) == v) }
        #expect(1.0 * (1 / Double(Float(0.05))) < 20)   // what the float alone would give
        let p: [Float] = [0, 0, 0, 1, 0, 0, 0.25, 0, 0, 0.2499999, 0, 0]
        let a = try Voxelizer.voxelize(positions: p, voxelSize: Double(Float(0.05)))
        let b = try Voxelizer.voxelize(positions: p, voxelSize: 0.05)
        #expect(a.coords == b.coords && a.inverse == b.inverse && a.voxelCount == 4)
        #expect(Set(stride(from: 0, to: a.coords.count, by: 3).map { a.coords[$0] }) == [0, 20, 5, 4])
    }

    @Test func onePointAndOneVoxel() throws {
        let one = try Voxelizer.voxelize(positions: [5, 5, 5], voxelSize: 0.02)
        #expect(one.voxelCount == 1 && one.coords == [0, 0, 0])
        let same = try Voxelizer.voxelize(positions: [Float](repeating: 1.0, count: 30), voxelSize: 0.02)
        #expect(same.voxelCount == 1 && same.inverse == [Int32](repeating: 0, count: 10) && same.representative == [0])
    }
}

@Suite struct CoordinateHashTests {
    @Test func growsBeyondItsInitialCapacity() {
        var h = CoordinateHash(capacity: 1)
        for i in 0..<10_000 { #expect(h.insert(CoordinateKey.pack(Int32(i), Int32(-i), 3), Int32(i)) == Int32(i)) }
        #expect(h.count == 10_000)
        for i in stride(from: 0, to: 10_000, by: 97) { #expect(h.find(CoordinateKey.pack(Int32(i), Int32(-i), 3)) == Int32(i)) }
        #expect(h.find(CoordinateKey.pack(5, 5, 5)) == -1)
    }

    /// Very sparse voxels (one per 4³ block): the block index must hold many more blocks than n / 8.
    @Test func sparseCloudKernelMap() throws {
        var c = [Int32]()
        for i in 0..<500 { c += [Int32(i % 10) * 8, Int32(i / 10 % 10) * 8, Int32(i / 100) * 8] }
        let cm = CoordinateManager(input: try CoordinateMap(unique: c), threads: 1)
        let km = try cm.kernelMap(kernelSize: 5, inStride: 1, stride: 1)
        #expect(km.totalPairs == 500)
    }
}
