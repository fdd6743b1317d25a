import Testing
@testable import OV3DCore

@Suite struct SyntheticRoomTests {
    @Test func deterministicAndLabelled() {
        let a = SyntheticRoom.generate(seed: 7), b = SyntheticRoom.generate(seed: 7)
        #expect(a.boxes.count == b.boxes.count && a.boxes.count > 10)
        let pa = a.samplePoints(density: 400), pb = b.samplePoints(density: 400)
        #expect(pa == pb)
        #expect(pa.count > 5000)
        #expect(try! { try pa.validate(finite: true); return true }())
        #expect(Set(pa.labels).count >= 6)
    }

    /// Back-projecting rendered depth with the camera-to-world pose (OpenCV camera) must land on
    /// the surface of the box whose label the pixel carries.
    @Test func renderedDepthBackProjectsOntoSurfaces() {
        let room = SyntheticRoom.generate(seed: 3)
        let frames = room.renderOrbit(count: 3, width: 64, height: 48, threads: 1)
        var checked = 0
        for f in frames {
            for v in stride(from: 0, to: f.height, by: 3) {
                for u in stride(from: 0, to: f.width, by: 3) {
                    let d = f.depth[v * f.width + u]
                    guard d > 0 else { continue }
                    let z = Float(d) / 1000
                    let pc = SIMD3<Float>((Float(u) - f.cx) * z / f.fx, (Float(v) - f.cy) * z / f.fy, z)
                    let P = f.pose
                    let w = SIMD3<Float>(P[0] * pc.x + P[1] * pc.y + P[2] * pc.z + P[3],
                                         P[4] * pc.x + P[5] * pc.y + P[6] * pc.z + P[7],
                                         P[8] * pc.x + P[9] * pc.y + P[10] * pc.z + P[11])
                    let label = f.labels[v * f.width + u]
                    let near = room.boxes.contains { b in
                        b.label == label && (0..<3).allSatisfy { w[$0] >= b.min[$0] - 0.003 && w[$0] <= b.max[$0] + 0.003 }
                    }
                    #expect(near, "pixel (\(u),\(v)) back-projects to \(w), not on a box labelled \(label)")
                    checked += 1
                }
            }
        }
        #expect(checked > 200)
    }
}
