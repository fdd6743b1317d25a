/// Maps a bridge status + message to an OV3DError.
func bridgeCheck(_ r: Int32, _ err: [CChar]) throws {
    guard r != 0 else { return }
    let msg = err.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    let status = Status(rawValue: r) ?? .internal
    throw OV3DError(status, msg.isEmpty ? "PCL call failed (\(r))" : msg)
}
