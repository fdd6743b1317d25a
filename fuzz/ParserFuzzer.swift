// libFuzzer entry over every parser of untrusted bytes (`ParserTarget` in
// Sources/OV3DCore/Formats/ParserTargets.swift): the target is chosen by OV3D_FUZZ_TARGET
// (npy, pointcloud, checkpoint, vocabulary, png, json, manifest). Built by fuzz/build.sh;
// `make fuzz SECONDS=N` runs every target. Any crash, sanitizer report or non-OV3DError is a bug.
import Glibc

let target: ParserTarget = {
    let name = getenv("OV3D_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let t = ParserTarget(rawValue: name) else {
        fputs("set OV3D_FUZZ_TARGET to one of: \(ParserTarget.allCases.map(\.rawValue).joined(separator: ", "))\n", stderr)
        exit(2)
    }
    return t
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParsers(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: size > 0 ? data : nil, count: size)
    do { try target.run(bytes) } catch is OV3DError {
    } catch {
        fatalError("non-OV3DError thrown: \(error)")
    }
    return 0
}
