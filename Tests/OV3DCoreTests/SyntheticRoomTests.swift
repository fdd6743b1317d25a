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

@Suite struct SyntheticFusionTests {
    /// Points back-projected from a rendered frame must all be seen when that frame is fused:
    /// the renderer's intrinsics/pose conventions agree with the fusion's (OpenCV camera,
    /// camera-to-world pose, depth in millimetres).
    @Test func backProjectedPointsAreVisible() throws {
        let room = SyntheticRoom.generate(seed: 5)
        let f = room.renderOrbit(count: 3, width: 80, height: 60, threads: 1)[2]
        var pts: [Float] = []
        for v in stride(from: 2, to: f.height - 2, by: 2) {
            for u in stride(from: 2, to: f.width - 2, by: 2) {
                let d = f.depth[v * f.width + u]
                guard d > 0 else { continue }
                let z = Float(d) / 1000
                let pc = SIMD3<Float>((Float(u) - f.cx) * z / f.fx, (Float(v) - f.cy) * z / f.fy, z)
                let P = f.pose
                pts += [P[0] * pc.x + P[1] * pc.y + P[2] * pc.z + P[3],
                        P[4] * pc.x + P[5] * pc.y + P[6] * pc.z + P[7],
                        P[8] * pc.x + P[9] * pc.y + P[10] * pc.z + P[11]]
            }
        }
        let session = try FusionSession(positions: pts, featureDim: 1,
                                        params: FusionParams(visibilityThreshold: 0.02, cutBound: 0, depthScale: 1000, threads: 1))
        let frame = try FusionFrame(depthWidth: f.width, depthHeight: f.height, depth: f.depth,
                                    intrinsics: try PinholeIntrinsics(fx: Double(f.fx), fy: Double(f.fy), cx: Double(f.cx), cy: Double(f.cy)),
                                    pose: try CameraPose(cameraToWorld: f.pose.map(Double.init)),
                                    features: try Tensor([Float](repeating: 1, count: f.width * f.height), shape: [f.height, f.width, 1]))
        _ = try session.addFrame(frame)
        let mask = session.snapshot().mask
        let seen = mask.reduce(0) { $0 + Int($1) }
        #expect(pts.count / 3 > 100)
        #expect(seen == pts.count / 3, "\(seen) of \(pts.count / 3) back-projected points seen")
    }
}
