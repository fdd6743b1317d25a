/// A list of class names in class-index order, with what OpenScene encodes for them.
///
/// Data from OpenScene's `dataset/label_constants.py` (see shared/reference/openscene-pipeline.md §3, §7).
/// `LabelSet.named("scannet20")` etc.; a user list is `LabelSet(name:names:)`.
public struct LabelSet: Sendable, Equatable {
    /// Which prompt OpenScene replaces by the bare word "other" when a template is used.
    public enum OtherRule: Sendable, Equatable {
        case none
        /// ScanNet (`data_root` contains `scannet_3d`): the last prompt.
        case last
        /// Matterport (`matterport_3d`, also 40/80/160 — a quirk of the source): the second-to-last.
        case secondToLast
    }

    public let name: String
    /// The class names, index = class id (ScanNet's `otherfurniture` already renamed `other`).
    public let classNames: [String]
    /// The names that are encoded (nuScenes: the 43 detail names), default `classNames`.
    public let encodedNames: [String]
    /// For each encoded name, its class index (identity unless mapped).
    public let classOfEncoded: [Int]
    public let otherRule: OtherRule

    /// A user list: encoded as given, no replacement rule.
    public init(name: String = "custom", names: [String]) {
        self.init(name: name, classNames: names, encodedNames: names, classOfEncoded: Array(names.indices), otherRule: .none)
    }

    init(name: String, classNames: [String], encodedNames: [String]? = nil, classOfEncoded: [Int]? = nil, otherRule: OtherRule) {
        self.name = name
        self.classNames = classNames
        self.encodedNames = encodedNames ?? classNames
        self.classOfEncoded = classOfEncoded ?? Array(classNames.indices)
        self.otherRule = otherRule
    }

    /// The prompts OpenScene encodes: with a template, every name `X` → template(X), then the
    /// dataset's "other" replacement; without a template, the bare names.
    public func prompts(template: String? = TextEncodeOptions.openScenePrompt) -> [String] {
        guard let template else { return encodedNames }
        let opts = TextEncodeOptions(template: template)
        var p = encodedNames.map { opts.prompt($0) }
        switch otherRule {
        case .none: break
        case .last: if !p.isEmpty { p[p.count - 1] = "other" }
        case .secondToLast: if p.count >= 2 { p[p.count - 2] = "other" }
        }
        return p
    }

    /// Maps per-point indices into `encodedNames` to class indices (identity for most sets).
    public func classIndex(ofEncoded i: Int) -> Int? { classOfEncoded.indices.contains(i) ? classOfEncoded[i] : nil }

    /// The built-in sets by name: scannet20, matterport21, matterport40, matterport80,
    /// matterport160, nuscenes16 (case-insensitive; "scannet", "matterport", "nuscenes" alias
    /// the first of each).
    public static func named(_ name: String) -> LabelSet? {
        switch name.lowercased() {
        case "scannet20", "scannet", "scannet_3d": return scannet20
        case "matterport21", "matterport", "matterport_3d": return matterport21
        case "matterport40", "matterport_3d_40": return matterport40
        case "matterport80", "matterport_3d_80": return matterport80
        case "matterport160", "matterport_3d_160": return matterport160
        case "nuscenes16", "nuscenes", "nuscenes_3d": return nuscenes16
        default: return nil
        }
    }

    public static let builtinNames = ["scannet20", "matterport21", "matterport40", "matterport80", "matterport160", "nuscenes16"]

    static let scannetBase = ["wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door", "window", "bookshelf",
                              "picture", "counter", "desk", "curtain", "refrigerator", "shower curtain", "toilet", "sink", "bathtub"]

    public static let scannet20 = LabelSet(name: "scannet20", classNames: scannetBase + ["other"], otherRule: .last)
    public static let matterport21 = LabelSet(name: "matterport21", classNames: scannetBase + ["other", "ceiling"], otherRule: .secondToLast)

    static let mp40 = ["wall", "door", "ceiling", "floor", "picture", "window", "chair", "pillow", "lamp", "cabinet", "curtain",
                       "table", "plant", "mirror", "towel", "sink", "shelves", "sofa", "bed", "night stand", "toilet", "column",
                       "banister", "stairs", "stool", "vase", "television", "pot", "desk", "box", "coffee table", "counter",
                       "bench", "garbage bin", "fireplace", "clothes", "bathtub", "book", "air vent", "faucet"]
    static let mp80 = mp40 + ["photo", "toilet paper", "fan", "railing", "sculpture", "dresser", "rug", "ottoman", "bottle",
                              "refridgerator", "bookshelf", "wardrobe", "pipe", "monitor", "stand", "drawer", "container",
                              "light switch", "purse", "door way", "basket", "chandelier", "oven", "clock", "stove",
                              "washing machine", "shower curtain", "fire alarm", "bin", "chest", "microwave", "blinds", "bowl",
                              "tissue box", "plate", "tv stand", "shoe", "heater", "headboard", "bucket"]
    static let mp160 = mp80 + ["candle", "flower pot", "speaker", "furniture", "sign", "air conditioner", "fire extinguisher",
                               "curtain rod", "floor mat", "printer", "telephone", "blanket", "handle", "shower head", "soap",
                               "keyboard", "thermostat", "radiator", "kitchen island", "paper towel", "sheet", "glass",
                               "dishwasher", "cup", "ladder", "garage door", "hat", "exit sign", "piano", "board", "rope",
                               "ball", "excercise equipment", "hanger", "candlestick", "light", "scale", "bag", "laptop",
                               "treadmill", "guitar", "display case", "toilet paper holder", "bar", "tray", "urn",
                               "decorative plate", "pool table", "jacket", "bottle of soap", "water cooler", "utensil",
                               "tea pot", "stuffed animal", "paper towel dispenser", "lamp shade", "car", "toilet brush",
                               "doll", "drum", "whiteboard", "range hood", "candelabra", "toy", "foot rest", "soap dish",
                               "placemat", "cleaner", "computer", "knob", "paper", "projector", "coat hanger", "case", "pan",
                               "luggage", "trinket", "chimney", "person", "alarm"]
    public static let matterport40 = LabelSet(name: "matterport40", classNames: mp40, otherRule: .secondToLast)
    public static let matterport80 = LabelSet(name: "matterport80", classNames: mp80, otherRule: .secondToLast)
    public static let matterport160 = LabelSet(name: "matterport160", classNames: mp160, otherRule: .secondToLast)

    static let nuscenesDetails: [(String, Int)] = [
        ("barrier", 0), ("barricade", 0), ("bicycle", 1), ("bus", 2), ("car", 3), ("bulldozer", 4), ("excavator", 4),
        ("concrete mixer", 4), ("crane", 4), ("dump truck", 4), ("motorcycle", 5), ("person", 6), ("pedestrian", 6),
        ("traffic cone", 7), ("trailer", 8), ("semi trailer", 8), ("cargo container", 8), ("shipping container", 8),
        ("freight container", 8), ("truck", 9), ("road", 10), ("curb", 11), ("traffic island", 11), ("traffic median", 11),
        ("sidewalk", 12), ("grass", 13), ("grassland", 13), ("lawn", 13), ("meadow", 13), ("turf", 13), ("sod", 13),
        ("building", 14), ("wall", 14), ("pole", 14), ("awning", 14), ("tree", 15), ("trunk", 15), ("tree trunk", 15),
        ("bush", 15), ("shrub", 15), ("plant", 15), ("flower", 15), ("woods", 15),
    ]
    /// nuScenes-16 with `map_nuscenes_details`: the 43 detail names are encoded and mapped to 16 classes.
    public static let nuscenes16 = LabelSet(
        name: "nuscenes16",
        classNames: ["barrier", "bicycle", "bus", "car", "construction vehicle", "motorcycle", "person", "traffic cone",
                     "trailer", "truck", "drivable surface", "other flat", "sidewalk", "terrain", "manmade", "vegetation"],
        encodedNames: nuscenesDetails.map { $0.0 }, classOfEncoded: nuscenesDetails.map { $0.1 }, otherRule: .none)
}
