// libFuzzer target for the checkpoint readers (zip, pickle machine, torch zip/legacy, safetensors).
// Built by fuzz/build.sh (not by `swift build`); see fuzz/README.md.
import Glibc

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let storage = ByteStorage(copying: UnsafeRawBufferPointer(start: data, count: size))
    for crc in [true, false] {
        var o = TorchCheckpoint.Options()
        o.verifyCRC = crc
        o.threads = 1
        do {
            let sd = try CheckpointReader.decode(storage, options: o)
            for k in sd.keys { _ = sd[k]!.floats() }
            _ = try? ModelMetadata(stateDict: sd)
            _ = try? Safetensors.encode(sd)
        } catch is OV3DError {
        } catch {
            fatalError("non-OV3DError thrown: \(error)")
        }
    }
    return 0
}
