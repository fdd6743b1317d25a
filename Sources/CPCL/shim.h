/* Carrier module: pkg-config pcl_common adds the PCL and Eigen include paths to CPCLBridge. */
