import ArgumentParser
import Dispatch
import Foundation
import OV3DCore

/// `ov3d inspect FILE`: format, metadata, inferred architecture, and every tensor's key, dtype and shape.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List a checkpoint's tensors (key, dtype, shape), metadata and inferred architecture.")

    @Argument(help: "Checkpoint (.pth, .pth.tar, legacy torch, or .safetensors).") var file: String
    @Option(help: "Print at most this many tensors (0 = all).") var limit = 0
    @Flag(help: "Skip CRC-32 checks of the zip entries.") var noVerifyCrc = false
    @Option(help: "Benchmark: time N loads against N plain reads of the file's bytes, then exit.") var benchmark = 0

    func run() throws {
        if benchmark > 0 { return try runBenchmark() }
        var o = TorchCheckpoint.Options()
        o.verifyCRC = !noVerifyCrc
        let sd: StateDict
        do { sd = try CheckpointReader.load(path: file, options: o) } catch let e as OV3DError {
            FileHandle.standardError.write(Data("ov3d inspect: \(e.message)\n".utf8))
            throw ExitCode(Int32(-e.status.rawValue))
        }
        let bytes = sd.keys.reduce(0) { $0 + (sd[$1]?.byteCount ?? 0) }
        let elements = sd.keys.reduce(0) { $0 + (sd[$1]?.count ?? 0) }
        print("file: \(file)")
        print("tensors: \(sd.count), elements: \(elements), bytes: \(bytes)")
        print("metadata:")
        for (k, v) in sd.metadata { print("  \(k) = \(v)") }
        do {
            let spec = try MinkUNetSpec.infer(from: sd)
            let prefix = MinkUNetSpec.prefix(of: sd)
            print("architecture: \(spec.variantName) (prefix '\(prefix)', in_channels \(spec.inChannels), init_dim \(spec.initDim), layers \(spec.layers), planes \(spec.planes))")
            print("heads: " + spec.heads.map { h in
                "\(h.name)=\(h.dim)" + (h.isProbe ? " (linear probe on \(h.inputs.joined(separator: "+")))" : "")
            }.joined(separator: ", "))
            do { try spec.validate(sd); print("validation: all \(spec.expectedTensors.count) expected tensors present with the expected shapes") } catch let e as OV3DError {
                print("validation: \(e.message)")
            }
        } catch let e as OV3DError {
            if let w = try? UncertaintyWeights(stateDict: sd) {
                print("architecture: CUA-O3D uncertainty weights (AutomaticWeightedLoss)")
                for (t, (s, n)) in zip(w.teachers, zip(w.sigmas, w.normalizedWeights)) { print("  \(t): sigma \(s), normalised weight \(n)") }
            } else {
                print("architecture: not a MinkUNet (\(e.message))")
            }
        }
        print("tensors:")
        for (i, k) in sd.keys.enumerated() {
            if limit > 0 && i >= limit { print("  ... \(sd.count - limit) more"); break }
            let t = sd[k]!
            print("  \(k)  \(t.dtype.rawValue)  \(t.shape)")
        }
    }

    /// Loading (parse + CRC of every byte + tensor views) vs reading the file's bytes into memory,
    /// interleaved, medians reported. The file is read once first so both run from the page cache.
    func runBenchmark() throws {
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
        func median(_ x: [Double]) -> Double { let s = x.sorted(); return s[s.count / 2] }
        func best(_ x: [Double]) -> Double { x.min()! }
        var readT = [Double](), loadT = [Double](), lazyT = [Double](), rawT = [Double](), mallocT = [Double]()
        // Second peer: read(2) into a buffer allocated and pre-faulted once (pure copy from the page cache).
        let st = try FileIO.map(file)
        let buf = UnsafeMutableRawPointer.allocate(byteCount: max(1, st.count), alignment: 64)
        buf.initializeMemory(as: UInt8.self, repeating: 1, count: max(1, st.count))
        defer { buf.deallocate() }
        func rawRead() -> Int {
            let fd = open(file, O_RDONLY)
            guard fd >= 0 else { return 0 }
            defer { close(fd) }
            var got = 0
            while got < st.count { let r = read(fd, buf + got, st.count - got); if r <= 0 { break }; got += r }
            return got
        }
        var size = 0
        _ = try FileIO.read(file)
        var lazy = TorchCheckpoint.Options()
        lazy.verifyCRC = false
        for _ in 0..<benchmark {
            var t = now()
            let b = try FileIO.read(file)
            size = b.count
            readT.append(now() - t)
            t = now()
            precondition(rawRead() == st.count)
            rawT.append(now() - t)
            // Third peer: a fresh uninitialised allocation filled by read(2) (what a loader that
            // reads the file into memory pays).
            t = now()
            let fresh = UnsafeMutableRawPointer.allocate(byteCount: max(1, st.count), alignment: 64)
            let fd = open(file, O_RDONLY)
            var got = 0
            while fd >= 0 && got < st.count { let r = read(fd, fresh + got, st.count - got); if r <= 0 { break }; got += r }
            if fd >= 0 { close(fd) }
            fresh.deallocate()
            mallocT.append(now() - t)
            t = now()
            let sd = try CheckpointReader.load(path: file)
            loadT.append(now() - t)
            precondition(sd.count > 0)
            t = now()
            let sd2 = try CheckpointReader.load(path: file, options: lazy)
            // Touch every page of every tensor so the lazy (no-CRC) variant also reads all bytes.
            var acc: UInt8 = 0
            for k in sd2.keys { let bytes = sd2[k]!.bytes; var i = 0; while i < bytes.count { acc &+= bytes[i]; i += 4096 } }
            lazyT.append(now() - t)
            if acc == 255 { print("") }
        }
        let r = median(readT), l = median(loadT), z = median(lazyT), w = median(rawT), f = median(mallocT)
        print("file: \(file) (\(size) bytes), \(benchmark) runs, medians (min in brackets):")
        print(String(format: "  read bytes (FileIO.read)        %8.2f ms [%7.2f]  %6.2f GB/s", r * 1e3, best(readT) * 1e3, Double(size) / r * 1e-9))
        print(String(format: "  read(2) into a reused buffer    %8.2f ms [%7.2f]  %6.2f GB/s", w * 1e3, best(rawT) * 1e3, Double(size) / w * 1e-9))
        print(String(format: "  malloc + read(2)                %8.2f ms [%7.2f]  %6.2f GB/s", f * 1e3, best(mallocT) * 1e3, Double(size) / f * 1e-9))
        print(String(format: "  CheckpointReader.load (CRC on)  %8.2f ms [%7.2f]  ratio %.2f vs FileIO.read, %.2f vs malloc+read, %.2f vs reused-buffer read", l * 1e3, best(loadT) * 1e3, l / r, l / f, l / w))
        print(String(format: "  load, CRC off, pages touched    %8.2f ms [%7.2f]  ratio %.2f vs FileIO.read, %.2f vs malloc+read, %.2f vs reused-buffer read", z * 1e3, best(lazyT) * 1e3, z / r, z / f, z / w))
    }
}
