import Foundation
import Testing
@testable import OV3DCore

/// A box room: floor and two walls sampled on a grid, plus a dense "object" cube.
private func testRoom(spacing: Float = 0.1) -> PointCloud {
    var p: [Float] = []
    var c: [UInt8] = []
    let n = Int(4 / spacing)
    for i in 0..<n { for j in 0..<n {   // floor 4×4 m at z = 0
        p += [Float(i) * spacing, Float(j) * spacing, 0]; c += [200, 180, 150]
    } }
    for i in 0..<n { for k in 0..<(n / 2) {   // wall at y = 4
        p += [Float(i) * spacing, 4, Float(k) * spacing]; c += [120, 140, 200]
    } }
    for i in 0..<10 { for j in 0..<10 { for k in 0..<10 {   // object: 0.3 m cube, dense
        p += [1.5 + Float(i) * 0.03, 1.5 + Float(j) * 0.03, Float(k) * 0.03]; c += [220, 40, 40]
    } } }
    return PointCloud(positions: p, colors: c)
}

@Suite struct RenderingTests {
    @Test func viewpointParsing() throws {
        #expect(try Viewpoint(parsing: "auto") == .auto)
        #expect(try Viewpoint(parsing: "TOP") == .top)
        #expect(try Viewpoint(parsing: "1, -2,0.5") == .direction(SIMD3(1, -2, 0.5)))
        for bad in ["", "1,2", "1,2,3,4", "0,0,0", "nan,1,1", "inf,0,1", "a,b,c", "1e30,0,0"] {
            #expect(throws: OV3DError.self, "\(bad)") { try Viewpoint(parsing: bad) }
        }
    }

    @Test func bitmapFontGlyphs() {
        // 'A': apex at the top middle, full crossbar on row 3, legs on the last row.
        #expect(BitmapFont.pixel("A", x: 2, y: 0) && !BitmapFont.pixel("A", x: 0, y: 0))
        #expect((0..<5).allSatisfy { BitmapFont.pixel("A", x: $0, y: 3) })
        #expect(BitmapFont.pixel("A", x: 0, y: 6) && BitmapFont.pixel("A", x: 4, y: 6) && !BitmapFont.pixel("A", x: 2, y: 6))
        #expect(BitmapFont.glyphs.count == 95 && BitmapFont.glyphs[0] == 0)
        // Every printable glyph but space is drawn and distinct.
        #expect(Set(BitmapFont.glyphs).count == 95 && BitmapFont.glyphs.dropFirst().allSatisfy { $0 != 0 })
        #expect(BitmapFont.glyph("é") == BitmapFont.glyph("?"))
        #expect(BitmapFont.width(of: "abc") == 17)
        #expect(!BitmapFont.pixel("A", x: 5, y: 0) && !BitmapFont.pixel("A", x: -1, y: 0))
    }

    @Test func decimalText() {
        #expect(DecimalText.fixed(0.2751, decimals: 2) == "0.28")
        #expect(DecimalText.fixed(-0.004, decimals: 2) == "0.00")
        #expect(DecimalText.fixed(-1.5, decimals: 1) == "-1.5")
        #expect(DecimalText.fixed(12, decimals: 0) == "12")
        #expect(DecimalText.fixed(0.05, decimals: 3) == "0.050")
        #expect(DecimalText.fixed(.nan, decimals: 2) == "nan")
        #expect(DecimalText.fixed(1e30, decimals: 2) == "huge")
        #expect(DecimalText.decimals(forStep: 0.02) == 2 && DecimalText.decimals(forStep: 0.004) == 3)
    }

    @Test func framingKeepsEveryPointInsideAndCentred() throws {
        let room = testRoom()
        for view in [Viewpoint.auto, .top, .direction(SIMD3(1, 1, 0.3)), .direction(SIMD3(0, 0, -1))] {
            let cam = try room.positions.withUnsafeBufferPointer {
                try PerspectiveCamera.framing(positions: $0, viewpoint: view, width: 320, height: 240)
            }
            var lo = SIMD2<Float>(repeating: .infinity), hi = -lo
            for i in 0..<room.count {
                let q = cam.project(SIMD3(room.positions[3 * i], room.positions[3 * i + 1], room.positions[3 * i + 2]))
                #expect(q.z > cam.near)
                lo = pointwiseMin(lo, SIMD2(q.x, q.y)); hi = pointwiseMax(hi, SIMD2(q.x, q.y))
            }
            #expect(lo.x >= 0 && lo.y >= 0 && hi.x <= 320 && hi.y <= 240, "\(view): \(lo) \(hi)")
            // Framed: the scene fills most of one dimension, and is centred within a few pixels.
            #expect(max((hi.x - lo.x) / 320, (hi.y - lo.y) / 240) > 0.8, "\(view): \(lo) \(hi)")
            #expect(abs((lo.x + hi.x) / 2 - 160) < 12 && abs((lo.y + hi.y) / 2 - 120) < 12, "\(view): \(lo) \(hi) centre \((lo + hi) / 2)")
        }
        // Top view: +x to the right, +y up in the picture.
        let top = try room.positions.withUnsafeBufferPointer {
            try PerspectiveCamera.framing(positions: $0, viewpoint: .top, width: 320, height: 240)
        }
        let a = top.project(SIMD3(0, 0, 0)), b = top.project(SIMD3(1, 0, 0)), c = top.project(SIMD3(0, 1, 0))
        #expect(b.x > a.x && abs(b.y - a.y) < 1e-3 && c.y < a.y)
    }

    @Test func splatsAreSmallerWhereDense() throws {
        let room = testRoom()
        let radii = try room.positions.withUnsafeBufferPointer { p -> [Float] in
            let b = SceneBounds.robust(SceneBounds.sample(p, limit: 20_000))
            return SplatSizes.worldRadii(p, bounds: b)
        }
        func median(_ r: ArraySlice<Float>) -> Float { r.sorted()[r.count / 2] }
        let floorRadius = median(radii[0..<1600]), cubeRadius = median(radii[(room.count - 1000)...])
        #expect(cubeRadius < floorRadius * 0.5, "cube \(cubeRadius) floor \(floorRadius)")
        // Floor spacing 0.1 m: the radius is about 0.75 × spacing (within the cell discretisation).
        #expect(floorRadius > 0.05 && floorRadius < 0.12, "\(floorRadius)")
    }

    @Test func zBufferKeepsTheNearestPointInEitherOrder() throws {
        let cam = PerspectiveCamera(eye: SIMD3(0, 0, 0), forward: SIMD3(0, 0, 1), right: SIMD3(1, 0, 0), up: SIMD3(0, 1, 0),
                                    focal: 50, cx: 16, cy: 16, width: 32, height: 32, near: 0.01)
        let near: [Float] = [0, 0, 1], far: [Float] = [0, 0, 2]
        for order in [[near, far], [far, near]] {
            var r = SplatRasterizer(width: 32, height: 32)
            let pos = order.flatMap { $0 }
            let col: [UInt8] = order[0] == near ? [255, 0, 0, 0, 0, 255] : [0, 0, 255, 255, 0, 0]
            let radii: [Float] = [0.05, 0.05]
            try pos.withUnsafeBufferPointer { p in try col.withUnsafeBufferPointer { c in try radii.withUnsafeBufferPointer { rr in
                try r.draw(positions: p, colors: c, radii: rr, camera: cam)
            } } }
            let o = 16 * 32 + 16
            #expect(Array(r.colors[(3 * o)..<(3 * o + 3)]) == [255, 0, 0], "near (red) point wins")
            #expect(r.depth[o] < 1 && r.depth[o] > 0.9)
            #expect(r.depth[0] == .infinity)
        }
        // Points behind the camera, far off-screen or NaN draw nothing (and do not trap).
        var r = SplatRasterizer(width: 32, height: 32)
        let pos: [Float] = [0, 0, -1, 1e6, 0, 1, .nan, 0, 1, 0, 0, 1e-9]
        let col = [UInt8](repeating: 255, count: 12), radii: [Float] = [1, 1, 1, 1e9]
        try pos.withUnsafeBufferPointer { p in try col.withUnsafeBufferPointer { c in try radii.withUnsafeBufferPointer { rr in
            try r.draw(positions: p, colors: c, radii: rr, camera: cam)
        } } }
        #expect(r.depth.allSatisfy { $0 == .infinity })
        #expect(throws: OV3DError.self) {
            try pos.withUnsafeBufferPointer { p in try col.withUnsafeBufferPointer { c in try [Float(1)].withUnsafeBufferPointer { rr in
                try r.draw(positions: p, colors: c, radii: rr, camera: cam)
            } } }
        }
    }

    @Test func rgbRenderIsDeterministicAndShowsTheScene() throws {
        var o = RenderOptions()
        o.width = 240; o.height = 180
        let room = testRoom()
        let a = try SceneRenderer.render(room, options: o)
        let b = try SceneRenderer.render(room, options: o)
        #expect(a == b)
        #expect(a.width == 240 && a.height == 180 && a.pixels.count == 240 * 180 * 3)
        // The red cube is visible, the floor colour dominates, the corners are background.
        var red = 0, floor = 0
        for y in 0..<180 { for x in 0..<240 {
            let p = a.pixel(x: x, y: y)
            if p.r > 120 && p.g < 60 && p.b < 60 { red += 1 }
            if Int(p.r) > Int(p.b) + 20 && p.g > p.b && p.g > 60 { floor += 1 }
        } }
        #expect(red > 30, "\(red) red pixels")
        #expect(floor > 240 * 180 / 6, "\(floor) floor pixels")
        let corner = a.pixel(x: 0, y: 0)
        #expect(corner.r > 240 && corner.g > 240 && corner.b > 240)
        // No colours: a neutral grey, still shaded.
        var grey = room; grey.colors = []
        let g = try SceneRenderer.render(grey, options: o)
        #expect(g != a)
    }

    @Test func labelsGetThePaletteAndALegend() throws {
        let room = testRoom()
        var labels = [Int32](repeating: 0, count: room.count)
        let side = Int(Float(4) / Float(0.1))
        let floorCount = side * side, wallCount = side * (side / 2)
        for i in floorCount..<(floorCount + wallCount) { labels[i] = 1 }
        for i in (floorCount + wallCount)..<room.count { labels[i] = 5 }
        labels[0] = -1
        var o = RenderOptions()
        o.width = 480; o.height = 240
        let img = try SceneRenderer.render(room, coloring: .labels(labels, names: ["floor", "wall"]), options: o)
        // Palette colours appear in the picture (shaded, so compare hue roughly).
        let (fr, fg, fb) = LabelColors.color(0)
        var found = false
        for y in 0..<240 where !found { for x in 0..<300 {
            let p = img.pixel(x: x, y: y)
            if abs(Int(p.r) - Int(fr)) < 12 && abs(Int(p.g) - Int(fg)) < 12 && abs(Int(p.b) - Int(fb)) < 12 { found = true; break }
        } }
        #expect(found)
        // The legend: entries floor, wall, "label 5", unlabelled, in that order; swatches exact.
        guard case .legend(let legend) = try SceneRenderer.pointColors(room, .labels(labels, names: ["floor", "wall"])).1 else {
            Issue.record("no legend"); return
        }
        #expect(legend.entries.map { $0.text.split(separator: " ").dropLast().joined(separator: " ") } == ["floor", "wall", "label 5", "unlabelled"])
        #expect(legend.entries[1].text == "wall 24%")   // 800 of 3400 points
        let scale = max(1, 240 / 480)
        let margin = 8 * scale
        var l = legend; l.scale = scale
        let lx = 480 - (l.size.width + 2 * margin) + margin
        let sx = lx + l.padding + l.swatch / 2, sy = margin + l.padding + l.swatch / 2
        let (r0, g0, b0) = LabelColors.color(0)
        #expect(img.pixel(x: sx, y: sy) == RGB(r0, g0, b0))
        let (r1, g1, b1) = LabelColors.color(1)
        #expect(img.pixel(x: sx, y: sy + l.rowHeight) == RGB(r1, g1, b1))
        // Text is drawn (dark pixels right of the swatch).
        var dark = 0
        for y in margin..<(margin + l.rowHeight) { for x in (lx + l.padding + l.swatch)..<(lx + l.size.width) where img.pixel(x: x, y: y).r < 80 { dark += 1 } }
        #expect(dark > 10)
        #expect(throws: OV3DError.self) { try SceneRenderer.render(room, coloring: .labels([1, 2], names: []), options: o) }
    }

    @Test func scoresGetAHeatMapAndAColourBar() throws {
        let room = testRoom()
        var scores = (0..<room.count).map { Float($0) / Float(room.count) * 0.3 }
        scores[5] = .nan
        var o = RenderOptions()
        o.width = 400; o.height = 240
        let img = try SceneRenderer.render(room, coloring: .scores(scores, title: "chair"), options: o)
        guard case .bar(var bar) = try SceneRenderer.pointColors(room, .scores(scores, title: "chair")).1 else {
            Issue.record("no colour bar"); return
        }
        #expect(bar.range.lowerBound == 0 && abs(bar.range.upperBound - scores[room.count - 1]) < 1e-6)
        #expect(bar.ticks == ["0.30", "0.15", "0.00"])
        // Top and bottom of the bar carry the two ends of the colour map.
        bar.scale = 1
        let margin = 8
        bar.barHeight = max(16, min(240 * 6 / 10, 240 - 2 * margin - 4 * bar.padding - bar.titleHeight - BitmapFont.glyphHeight))
        let bx = 400 - (bar.size.width + 2 * margin) + margin + bar.padding + bar.barWidth / 2
        let top = margin + bar.padding + bar.titleHeight + BitmapFont.glyphHeight / 2
        #expect(img.pixel(x: bx, y: top + 1) == HeatColorMap.color(1 - 1 / Float(bar.barHeight - 1)))
        #expect(img.pixel(x: bx, y: top + bar.barHeight - 2) == HeatColorMap.color(1 / Float(bar.barHeight - 1)))
        #expect(HeatColorMap.color(0) == RGB(48, 18, 59) && HeatColorMap.color(1) == RGB(125, 8, 5))
        #expect(HeatColorMap.color(.nan) == HeatColorMap.color(0) && HeatColorMap.color(7) == HeatColorMap.color(1))
        // A constant score does not divide by zero.
        _ = try SceneRenderer.render(room, coloring: .scores([Float](repeating: 0.2, count: room.count)), options: o)
    }

    @Test func hostileInputsAreErrorsNotTraps() throws {
        var o = RenderOptions()
        o.width = 64; o.height = 48
        #expect(throws: OV3DError.self) { try SceneRenderer.render(PointCloud(), options: o) }
        #expect(throws: OV3DError.self) { try SceneRenderer.render(PointCloud(positions: [.nan, 0, 0]), options: o) }
        #expect(throws: OV3DError.self) { try SceneRenderer.render(PointCloud(positions: [1e30, 0, 0, 0, 0, 0]), options: o) }
        // NaN points are skipped (organised clouds), the rest renders.
        _ = try SceneRenderer.render(PointCloud(positions: [.nan, 0, 0, 0, 0, 0, 1, 1, 1]), options: o)
        // A single point and identical points frame without dividing by zero.
        _ = try SceneRenderer.render(PointCloud(positions: [1, 2, 3]), options: o)
        _ = try SceneRenderer.render(PointCloud(positions: [1, 2, 3, 1, 2, 3]), options: o)
        var bad = o; bad.width = 0
        #expect(throws: OV3DError.self) { try SceneRenderer.render(testRoom(), options: bad) }
        bad = o; bad.splatScale = .nan
        #expect(throws: OV3DError.self) { try SceneRenderer.render(testRoom(), options: bad) }
        bad = o; bad.fovYDegrees = 179
        #expect(throws: OV3DError.self) { try SceneRenderer.render(testRoom(), options: bad) }
        bad = o; bad.width = 20   // no room beside the legend
        #expect(throws: OV3DError.self) {
            try SceneRenderer.render(testRoom(), coloring: .labels([Int32](repeating: 0, count: testRoom().count), names: ["a long label name"]), options: bad)
        }
        #expect(throws: OV3DError.self) { try SceneRenderer.render(testRoom(), coloring: .scores([1]), options: o) }
    }

    @Test func writesAPNG() throws {
        let path = NSTemporaryDirectory() + "ov3d_render_test_\(getpid()).png"
        defer { unlink(path) }
        var o = RenderOptions()
        o.width = 100; o.height = 80; o.title = "room"
        try SceneRenderer.writePNG(testRoom(), options: o, to: path)
        let bytes = try FileIO.read(path)
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(throws: OV3DError.self) { try SceneRenderer.writePNG(testRoom(), options: o, to: "/nonexistent/dir/x.png") }
    }

    /// A real ScanNet scene (50k points) with its ScanNet-20 labels; writes the pictures to the
    /// temporary directory for a look.
    @Test func realScanNetScene() throws {
        guard let vert = TestPaths.shared("scannet_votenet50k/scene0000_00_vert.npy"),
              let sem = TestPaths.shared("scannet_votenet50k/scene0000_00_sem_label.npy") else { return }
        let cloud = try CloudFile.read(vert).cloud
        let nyu = try NPY.read(path: sem).int64s()
        let ids: [Int64] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24, 28, 33, 34, 36, 39]
        let labels = nyu.map { v in Int32(ids.firstIndex(of: v) ?? -1) }
        var o = RenderOptions()
        o.width = 320; o.height = 240; o.supersampling = 1
        let img = try SceneRenderer.render(cloud, coloring: .labels(labels, names: LabelSet.scannet20.classNames), options: o)
        var covered = 0
        for y in 0..<240 { for x in 0..<200 where img.pixel(x: x, y: y) != img.pixel(x: 0, y: y) { covered += 1 } }
        #expect(covered > 200 * 240 / 4, "\(covered) scene pixels")
        try img.writePNG(to: NSTemporaryDirectory() + "ov3d_scene0000_00_labels.png")
    }
}
