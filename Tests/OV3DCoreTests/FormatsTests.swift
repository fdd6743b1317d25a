import Testing
@testable import OV3DCore

@Suite struct JSONTests {
    @Test func roundTrip() throws {
        let text = #"{"a":[1,2.5,-3e2,true,false,null],"b":"x\"\u00e9\ud83d\ude00","c":{}}"#
        let v = try JSON.parse(text)
        #expect(v["a"]?.arrayValue?.count == 6)
        #expect(v["b"]?.stringValue == "x\"é😀")
        #expect(try JSON.parse(v.description) == v)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "\"\\ud800\"", "01x", "{\"a\":1,\"a\":2}", "[1] x", "\"\u{01}\""])
    func rejectsMalformed(_ text: String) {
        #expect(throws: OV3DError.self) { try JSON.parse(text) }
    }

    /// Numbers beyond Double's range are refused with a message, not read as ±inf; tiny ones
    /// underflow to 0 as in every JSON reader (issue 17).
    @Test(arguments: ["1e999", "-1e999", "[1, 2e400]", "{\"lr\": 1E+309}", "1" + String(repeating: "0", count: 400)])
    func refusesNumbersOutOfRange(_ text: String) {
        do {
            let v = try JSON.parse(text)
            Issue.record("\(text.prefix(20)) parsed as \(v)")
        } catch let e as OV3DError {
            #expect("\(e)".contains("outside the range of a double"), "\(e)")
        } catch { Issue.record("\(error)") }
    }

    @Test func keepsTheLargestFiniteAndUnderflows() throws {
        #expect(try JSON.parse("1.7976931348623157e308").doubleValue == Double.greatestFiniteMagnitude)
        #expect(try JSON.parse("-1e-999").doubleValue == 0)
        #expect(try JSON.parse("[1e308]").arrayValue?.first?.doubleValue == 1e308)
    }

    @Test func boundsDepth() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: OV3DError.self) { try JSON.parse(deep) }
    }
}

@Suite struct NPYTests {
    @Test func roundTripFloat32() throws {
        let t = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let back = try NPY.decode(try NPY.encode(t))
        #expect(back.shape == [2, 3])
        #expect(back.floats() == [1, 2, 3, 4, 5, 6])
    }

    @Test func truncatedIsAnError() throws {
        let bytes = try NPY.encode(try Tensor([1, 2, 3], shape: [3]))
        for cut in [0, 5, 9, 20, bytes.count - 1] {
            #expect(throws: OV3DError.self) { try NPY.decode(Array(bytes.prefix(cut))) }
        }
    }
}

@Suite struct SafetensorsTests {
    @Test func roundTripWithMetadata() throws {
        var sd = StateDict()
        sd.set("w", try Tensor([1, 2, 3, 4], shape: [2, 2]))
        sd.set("b", try Tensor(int32: [7], shape: [1]))
        sd.setMetadata("architecture", "MinkUNet18A")
        let back = try Safetensors.decode(ByteStorage(try Safetensors.encode(sd)))
        #expect(back.keys == ["w", "b"])
        #expect(back["w"]?.floats() == [1, 2, 3, 4])
        #expect(try back["b"]?.int64s() == [7])
        #expect(back.metadata("architecture") == "MinkUNet18A")
    }

    @Test func halfConversion() {
        for f: Float in [0, 1, -2.5, 65504, 1e-7, 6.1e-5, 0.1] {
            let h = floatToHalf(f)
            #expect(abs(halfToFloat(h) - f) <= abs(f) * 1e-3 + 6e-8)
        }
    }
}
