import CSupport
import OV3DCAPI
import Testing
@testable import OV3DCore

/// The memory limit and the fallible allocation path (issue 17): sizes parse, projections grow
/// with the counts, a session's `max_memory_bytes` refuses a run with OV3D_ERR_OUT_OF_MEMORY
/// saying what it would need (and a caller's shorter, pre-limit struct still works).
/// `tests/cli/test_memory_limits_cli.py` shows the 5M-point cases under `ulimit -v` and `--max-memory`.
@Suite(.serialized) struct MemoryLimitTests {
    @Test func sizesParse() {
        #expect(Memory.parse("512M") == 512 << 20)
        #expect(Memory.parse("512MiB") == 512 << 20)
        #expect(Memory.parse("2g") == 2 << 30)
        #expect(Memory.parse("1.5G") == 3 << 29)
        #expect(Memory.parse("1073741824") == 1 << 30)
        #expect(Memory.parse("4K") == 4096)
        for bad in ["", "M", "-3G", "lots", "1e30", "nan", "0", "0.5", "12Q", "1..2M"] {
            #expect(Memory.parse(bad) == nil, "\(bad)")
        }
        #expect(Memory.describe(512 << 20) == "512 MiB")
        #expect(Memory.describe(3 << 29) == "1.5 GiB")
        #expect(Memory.describe(900) == "900 bytes")
    }

    @Test func allocationFailureIsAnError() {
        // More than any address space: malloc fails, the error names the size and the purpose.
        do {
            _ = try Memory.array(repeating: Float(0), count: 1 << 60, what: "a test buffer")
            Issue.record("allocated 2^62 bytes")
        } catch let e as OV3DError {
            #expect(e.status == .outOfMemory && e.message.contains("a test buffer"))
        } catch { Issue.record("\(error)") }
        do {
            _ = try Memory.array(repeating: UInt64(0), count: Int.max / 2, what: "x")
            Issue.record("overflow not caught")
        } catch let e as OV3DError { #expect(e.status == .outOfMemory) } catch { Issue.record("\(error)") }
        #expect(throws: OV3DError.self) { try Memory.checkProjected(2 << 30, limit: 1 << 30, what: "w") }
        #expect(throws: Never.self) { try Memory.checkProjected(1 << 20, limit: 1 << 30, what: "w") }
    }

    @Test func projectionGrowsWithTheCounts() throws {
        guard MinkFixture.exists("room_18a_w8") else { return }
        let model = try MinkUNet.load(path: MinkFixture.dir("room_18a_w8") + "/weights.safetensors")
        let a = model.projectedPeak(points: 1_000_000, voxels: nil)
        let b = model.projectedPeak(points: 1_000_000, voxels: 400_000)
        let c = model.projectedPeak(points: 5_000_000, voxels: 400_000)
        #expect(a.bytes < b.bytes && b.bytes < c.bytes)
        #expect(model.projectedPeak(points: Int.max / 2, voxels: Int.max / 2).bytes == Int.max)
    }

    @Test func sessionMaxMemoryRefusesTheRun() throws {
        guard MinkFixture.exists("room_18a_w8") else { return }
        var model: OpaquePointer? = nil
        #expect(ov3d_model_load(MinkFixture.dir("room_18a_w8") + "/weights.safetensors", nil, &model) == 0)
        defer { ov3d_model_free(model) }
        let pts = try MinkFixture.floats(MinkFixture.dir("room_18a_w8") + "/points.npy").values
        func run(_ sp: inout ov3d_session_params) -> (Int32, Int32, String) {
            var session: OpaquePointer? = nil
            let c = ov3d_session_create(model, &sp, &session)
            guard c == 0 else { return (c, 0, String(cString: ov3d_last_error())) }
            defer { ov3d_session_free(session) }
            var result: OpaquePointer? = nil
            let r = pts.withUnsafeBufferPointer { bp -> Int32 in
                var view = ov3d_points_init(bp.baseAddress, pts.count / 3, 0)
                return ov3d_session_run(session, &view, nil, &result)
            }
            let msg = r == 0 ? "" : String(cString: ov3d_last_error())
            ov3d_result_free(result)
            return (c, r, msg)
        }
        var sp = OV3DCAPI.ov3d_session_default_params()
        sp.voxel_size = 0.05
        sp.max_memory_bytes = 16 << 20   // the run projects ~70 MiB (64 MiB fixed + the cloud)
        let refused = run(&sp)
        #expect(refused.0 == 0 && refused.1 == -5, "\(refused)")
        #expect(refused.2.contains("would need about") && refused.2.contains("16 MiB"), "\(refused.2)")
        sp.max_memory_bytes = 1 << 30
        #expect(run(&sp).1 == 0)
        // A caller built before max_memory_bytes existed: its shorter struct is accepted, no limit.
        sp.max_memory_bytes = 16 << 20
        sp.struct_size = UInt32(MemoryLayout<ov3d_session_params>.offset(of: \ov3d_session_params.max_memory_bytes)!)
        #expect(run(&sp).1 == 0)
        sp.struct_size -= 1
        #expect(run(&sp).0 == -1)
    }
}
