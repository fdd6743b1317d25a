#if canImport(Glibc)
import Glibc
#endif

/// The one entry point for reading a checkpoint file of any supported format.
///
/// Detects the format by its first bytes (not its name): a ZIP (torch ≥ 1.6 `torch.save`, including
/// `.pth.tar`), safetensors, or a legacy pre-1.6 torch stream. The file is memory-mapped; tensors
/// that are contiguous in the file are zero-copy views of the mapping.
public enum CheckpointReader {
    public enum Format: String, Sendable {
        case torchZip = "torch-zip"
        case torchLegacy = "torch-legacy"
        case safetensors
    }

    /// Detects the format of a file's first bytes; nil when unknown.
    public static func detect(_ b: UnsafeRawBufferPointer) -> Format? {
        if ZipArchive.sniff(b) { return .torchZip }
        if TorchCheckpoint.sniffLegacy(b) { return .torchLegacy }
        if Safetensors.sniff(b) { return .safetensors }
        return nil
    }

    /// Loads the state dict of a checkpoint file (torch zip, legacy torch, or safetensors).
    /// Errors name the file; hostile files end in an error, never in code execution or a crash.
    public static func load(path: String) throws -> StateDict {
        try load(path: path, options: TorchCheckpoint.Options())
    }

    public static func load(path: String, options: TorchCheckpoint.Options) throws -> StateDict {
        let storage = try FileIO.map(path)
        if options.verifyCRC { prefault(storage) }
        do { return try decode(storage, options: options) } catch let e as OV3DError { throw e.context(path) }
    }

    /// Every byte is about to be read (CRC): map all pages in one call (MADV_POPULATE_READ, Linux
    /// ≥ 5.14) instead of one page fault per 4 KiB. Best effort: older kernels just return EINVAL.
    static func prefault(_ storage: ByteStorage) {
        #if os(Linux)
        guard storage.count >= 1 << 20 else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: storage.base), storage.count, 22 /* MADV_POPULATE_READ */)
        #endif
    }

    /// Decodes a whole checkpoint held in memory (tensors may reference `storage`).
    public static func decode(_ storage: ByteStorage, options: TorchCheckpoint.Options = TorchCheckpoint.Options()) throws -> StateDict {
        switch detect(storage.bytes) {
        case .torchZip:
            return try TorchCheckpoint.stateDict(from: TorchCheckpoint.loadZip(storage, options: options), format: Format.torchZip.rawValue)
        case .torchLegacy:
            do {
                return try TorchCheckpoint.stateDict(from: TorchCheckpoint.loadLegacy(storage, options: options), format: Format.torchLegacy.rawValue)
            } catch let e as OV3DError {
                throw e.context("legacy (pre-1.6) torch file; if it cannot be read, convert it with PyTorch: torch.save(torch.load(f), g, _use_new_zipfile_serialization=True)")
            }
        case .safetensors:
            var sd = try Safetensors.decode(storage)
            if sd.metadata("ov3d.source_format") == nil { sd.setMetadata("ov3d.source_format", Format.safetensors.rawValue) }
            return sd
        case nil:
            if storage.count >= 2, storage.bytes[0] == 0x80 {
                throw OV3DError.format("a raw pickle, not a torch checkpoint (expected a torch.save zip archive, a legacy torch file or safetensors)")
            }
            throw OV3DError.format("unknown checkpoint format (expected a torch.save zip archive, a legacy torch file or safetensors)")
        }
    }
}
