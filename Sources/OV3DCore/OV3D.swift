/// Library version. Keep in step with OV3D_VERSION_* and OV3D_ABI_VERSION in include/ov3d.h.
public enum OV3DVersion {
    public static let major = 0
    public static let minor = 1
    public static let patch = 0
    /// Incremented on every incompatible change of the C ABI.
    public static let abi = 1
    /// "major.minor.patch" as a static C string (what `ov3d_version()` returns).
    public static let text: StaticString = "0.1.0"
    public static var string: String { text.description }
}
