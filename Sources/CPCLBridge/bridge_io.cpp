// PCL file I/O behind the C bridge: PCD writing through pcl::PCDWriter, and loading through PCL's
// own readers (used to cross-check the native readers). No exception leaves this file.
#include "ov3d_pcl_bridge.h"
#include "bridge_util.h"

#include <pcl/PCLPointCloud2.h>
#include <pcl/io/pcd_io.h>
#include <pcl/io/ply_io.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <vector>

using ov3d_bridge::fail;

namespace {
void addField(pcl::PCLPointCloud2 &c, const char *name, uint8_t type, uint32_t &offset) {
    pcl::PCLPointField f;
    f.name = name;
    f.offset = offset;
    f.datatype = type;
    f.count = 1;
    c.fields.push_back(f);
    offset += 4;
}

bool endsWith(const std::string &s, const char *suffix) {
    size_t n = std::strlen(suffix);
    if (s.size() < n) return false;
    for (size_t i = 0; i < n; ++i)
        if (std::tolower(static_cast<unsigned char>(s[s.size() - n + i])) != suffix[i]) return false;
    return true;
}

double readAs(const uint8_t *p, uint8_t type) {
    switch (type) {
    case pcl::PCLPointField::INT8: { int8_t v; std::memcpy(&v, p, 1); return v; }
    case pcl::PCLPointField::UINT8: { uint8_t v; std::memcpy(&v, p, 1); return v; }
    case pcl::PCLPointField::INT16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case pcl::PCLPointField::UINT16: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case pcl::PCLPointField::INT32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case pcl::PCLPointField::UINT32: { uint32_t v; std::memcpy(&v, p, 4); return v; }
    case pcl::PCLPointField::FLOAT32: { float v; std::memcpy(&v, p, 4); return v; }
    case pcl::PCLPointField::FLOAT64: { double v; std::memcpy(&v, p, 8); return v; }
    default: return NAN;
    }
}
size_t typeSize(uint8_t type) {
    switch (type) {
    case pcl::PCLPointField::INT8: case pcl::PCLPointField::UINT8: return 1;
    case pcl::PCLPointField::INT16: case pcl::PCLPointField::UINT16: return 2;
    case pcl::PCLPointField::FLOAT64: return 8;
    default: return 4;
    }
}
}  // namespace

struct ov3d_pcl_cloud {
    size_t count = 0;
    uint32_t width = 0, height = 0;
    std::string fields;
    std::vector<float> xyz, normals, intensity;
    std::vector<uint8_t> rgb;
    std::vector<int32_t> labels;
};

extern "C" int ov3d_pcl_save_pcd(const char *path, int encoding, size_t n, uint32_t width,
                                 uint32_t height, const float *xyz, const uint8_t *rgb,
                                 const float *normals, const float *intensity,
                                 const int32_t *labels, const float *scores, char *err,
                                 size_t err_cap) {
    OV3D_BRIDGE_TRY
    if (!path || !xyz) return fail(err, err_cap, -1, "path or xyz is NULL");
    if (encoding < 0 || encoding > 2) return fail(err, err_cap, -1, "bad PCD encoding");
    if (static_cast<uint64_t>(width) * height != n || n > 0x7fffffffu)
        return fail(err, err_cap, -1, "width*height must equal the point count");
    pcl::PCLPointCloud2 c;
    uint32_t off = 0;
    addField(c, "x", pcl::PCLPointField::FLOAT32, off);
    addField(c, "y", pcl::PCLPointField::FLOAT32, off);
    addField(c, "z", pcl::PCLPointField::FLOAT32, off);
    const uint32_t oRGB = off;
    if (rgb) addField(c, "rgb", pcl::PCLPointField::FLOAT32, off);
    const uint32_t oN = off;
    if (normals) {
        addField(c, "normal_x", pcl::PCLPointField::FLOAT32, off);
        addField(c, "normal_y", pcl::PCLPointField::FLOAT32, off);
        addField(c, "normal_z", pcl::PCLPointField::FLOAT32, off);
    }
    const uint32_t oI = off;
    if (intensity) addField(c, "intensity", pcl::PCLPointField::FLOAT32, off);
    const uint32_t oL = off;
    if (labels) addField(c, "label", pcl::PCLPointField::UINT32, off);
    const uint32_t oS = off;
    if (scores) addField(c, "score", pcl::PCLPointField::FLOAT32, off);
    c.point_step = off;
    c.width = width;
    c.height = height;
    c.row_step = off * width;
    c.is_dense = true;
    c.data.resize(static_cast<size_t>(off) * n);
    for (size_t i = 0; i < n; ++i) {
        uint8_t *p = c.data.data() + i * off;
        std::memcpy(p, xyz + 3 * i, 12);
        for (int k = 0; k < 3; ++k)
            if (!std::isfinite(xyz[3 * i + k])) c.is_dense = false;
        if (rgb) {
            // PCL packs rgb as bytes b g r a (little-endian uint32 0xaarrggbb) in a float.
            uint8_t b4[4] = {rgb[3 * i + 2], rgb[3 * i + 1], rgb[3 * i], 0};
            std::memcpy(p + oRGB, b4, 4);
        }
        if (normals) std::memcpy(p + oN, normals + 3 * i, 12);
        if (intensity) std::memcpy(p + oI, intensity + i, 4);
        if (labels) std::memcpy(p + oL, labels + i, 4);
        if (scores) std::memcpy(p + oS, scores + i, 4);
    }
    pcl::PCDWriter w;
    int r;
    const Eigen::Vector4f origin = Eigen::Vector4f::Zero();
    const Eigen::Quaternionf orient = Eigen::Quaternionf::Identity();
    switch (encoding) {
    case 0: r = w.writeASCII(path, c, origin, orient, 9); break;
    case 1: r = w.writeBinary(path, c, origin, orient); break;
    default: r = w.writeBinaryCompressed(path, c, origin, orient); break;
    }
    if (r != 0) return fail(err, err_cap, -2, std::string("pcl::PCDWriter could not write ") + path);
    return 0;
    OV3D_BRIDGE_CATCH(err, err_cap)
}

extern "C" int ov3d_pcl_load(const char *path, ov3d_pcl_cloud **out, char *err, size_t err_cap) {
    OV3D_BRIDGE_TRY
    if (!path || !out) return fail(err, err_cap, -1, "path or out is NULL");
    *out = nullptr;
    std::string p(path);
    pcl::PCLPointCloud2 c;
    Eigen::Vector4f origin;
    Eigen::Quaternionf orient;
    int r;
    if (endsWith(p, ".ply")) {
        pcl::PLYReader reader;
        int version = 0;
        r = reader.read(p, c, origin, orient, version, 0);
    } else {
        pcl::PCDReader reader;
        int version = 0;
        r = reader.read(p, c, origin, orient, version, 0);
    }
    if (r < 0) return fail(err, err_cap, -3, std::string("PCL could not read ") + p);
    const size_t n = static_cast<size_t>(c.width) * c.height;
    if (c.point_step == 0 || c.row_step < static_cast<uint64_t>(c.point_step) * c.width ||
        c.data.size() < static_cast<size_t>(c.row_step) * c.height)
        return fail(err, err_cap, -3, "PCL returned an inconsistent cloud");
    auto *res = new ov3d_pcl_cloud();
    res->count = n;
    res->width = c.width;
    res->height = c.height;
    const pcl::PCLPointField *fx = nullptr, *fy = nullptr, *fz = nullptr, *frgb = nullptr,
                             *fnx = nullptr, *fny = nullptr, *fnz = nullptr, *fi = nullptr,
                             *fl = nullptr;
    for (const auto &f : c.fields) {
        if (!res->fields.empty()) res->fields += " ";
        res->fields += f.name;
        if (f.offset + typeSize(f.datatype) > c.point_step) continue;
        if (f.name == "x") fx = &f;
        else if (f.name == "y") fy = &f;
        else if (f.name == "z") fz = &f;
        else if (f.name == "rgb" || f.name == "rgba") frgb = &f;
        else if (f.name == "normal_x") fnx = &f;
        else if (f.name == "normal_y") fny = &f;
        else if (f.name == "normal_z") fnz = &f;
        else if (f.name == "intensity") fi = &f;
        else if (f.name == "label") fl = &f;
    }
    if (!fx || !fy || !fz) {
        delete res;
        return fail(err, err_cap, -3, "cloud has no x y z");
    }
    res->xyz.resize(3 * n);
    if (frgb) res->rgb.resize(3 * n);
    if (fnx && fny && fnz) res->normals.resize(3 * n);
    if (fi) res->intensity.resize(n);
    if (fl) res->labels.resize(n);
    for (size_t row = 0; row < c.height; ++row) {
        for (size_t col = 0; col < c.width; ++col) {
            const size_t i = row * c.width + col;
            const uint8_t *p = c.data.data() + row * c.row_step + col * c.point_step;
            res->xyz[3 * i] = static_cast<float>(readAs(p + fx->offset, fx->datatype));
            res->xyz[3 * i + 1] = static_cast<float>(readAs(p + fy->offset, fy->datatype));
            res->xyz[3 * i + 2] = static_cast<float>(readAs(p + fz->offset, fz->datatype));
            if (frgb) {
                uint8_t b4[4];
                std::memcpy(b4, p + frgb->offset, 4);
                res->rgb[3 * i] = b4[2];
                res->rgb[3 * i + 1] = b4[1];
                res->rgb[3 * i + 2] = b4[0];
            }
            if (!res->normals.empty()) {
                res->normals[3 * i] = static_cast<float>(readAs(p + fnx->offset, fnx->datatype));
                res->normals[3 * i + 1] = static_cast<float>(readAs(p + fny->offset, fny->datatype));
                res->normals[3 * i + 2] = static_cast<float>(readAs(p + fnz->offset, fnz->datatype));
            }
            if (fi) res->intensity[i] = static_cast<float>(readAs(p + fi->offset, fi->datatype));
            if (fl) {
                if (fl->datatype == pcl::PCLPointField::UINT32 || fl->datatype == pcl::PCLPointField::INT32)
                    std::memcpy(&res->labels[i], p + fl->offset, 4);
                else
                    res->labels[i] = static_cast<int32_t>(readAs(p + fl->offset, fl->datatype));
            }
        }
    }
    *out = res;
    return 0;
    OV3D_BRIDGE_CATCH(err, err_cap)
}

extern "C" void ov3d_pcl_cloud_free(ov3d_pcl_cloud *c) { delete c; }
extern "C" size_t ov3d_pcl_cloud_count(const ov3d_pcl_cloud *c) { return c ? c->count : 0; }
extern "C" uint32_t ov3d_pcl_cloud_width(const ov3d_pcl_cloud *c) { return c ? c->width : 0; }
extern "C" uint32_t ov3d_pcl_cloud_height(const ov3d_pcl_cloud *c) { return c ? c->height : 0; }
extern "C" const char *ov3d_pcl_cloud_fields(const ov3d_pcl_cloud *c) { return c ? c->fields.c_str() : ""; }
extern "C" const float *ov3d_pcl_cloud_xyz(const ov3d_pcl_cloud *c) {
    return c && !c->xyz.empty() ? c->xyz.data() : nullptr;
}
extern "C" const uint8_t *ov3d_pcl_cloud_rgb(const ov3d_pcl_cloud *c) {
    return c && !c->rgb.empty() ? c->rgb.data() : nullptr;
}
extern "C" const float *ov3d_pcl_cloud_normals(const ov3d_pcl_cloud *c) {
    return c && !c->normals.empty() ? c->normals.data() : nullptr;
}
extern "C" const float *ov3d_pcl_cloud_intensity(const ov3d_pcl_cloud *c) {
    return c && !c->intensity.empty() ? c->intensity.data() : nullptr;
}
extern "C" const int32_t *ov3d_pcl_cloud_labels(const ov3d_pcl_cloud *c) {
    return c && !c->labels.empty() ? c->labels.data() : nullptr;
}
