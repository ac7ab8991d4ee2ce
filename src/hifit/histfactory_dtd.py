"""The document type of the HistFactory XML that :func:`hifit.histfactory_xml.write_xml`
writes, saved as ``HistFactorySchema.dtd`` beside it (where pyhf's ``json2xml`` puts
its copy: the parent of the channel files' folder, which their ``DOCTYPE`` names as
``../HistFactorySchema.dtd``).

hifit's own description of exactly the elements and attributes it writes, so that a
validating parser can check hifit's files.
"""

from __future__ import annotations

FILE_NAME = "HistFactorySchema.dtd"

DTD = """\
<!-- HistFactory XML as hifit writes it (hifit pyhf json2xml).

     The top-level file lists the channel files and the measurements; each channel
     file holds one channel: its observed data and its samples, each sample the
     modifiers acting on it. Histograms are named in a ROOT file (InputFile). -->

<!-- top-level file -->
<!ELEMENT Combination (Input*, Measurement*)>
<!ATTLIST Combination OutputFilePrefix CDATA #REQUIRED>

<!-- the path of one channel file -->
<!ELEMENT Input (#PCDATA)>

<!-- one measurement: its parameter of interest, the parameters held constant
     (one space-separated list), the luminosity and its relative uncertainty -->
<!ELEMENT Measurement (POI, ParamSetting?)>
<!ATTLIST Measurement
  Name       CDATA        #REQUIRED
  Lumi       CDATA        #REQUIRED
  LumiRelErr CDATA        #REQUIRED
  ExportOnly (True|False) #REQUIRED>
<!ELEMENT POI (#PCDATA)>
<!ELEMENT ParamSetting (#PCDATA)>
<!ATTLIST ParamSetting Const (True|False) #REQUIRED>

<!-- channel file -->
<!ELEMENT Channel (Data?, Sample*)>
<!ATTLIST Channel
  Name      CDATA #REQUIRED
  InputFile CDATA #REQUIRED>

<!ELEMENT Data EMPTY>
<!ATTLIST Data
  HistoName CDATA #REQUIRED
  InputFile CDATA #REQUIRED>

<!-- NormalizeByTheory: the sample scales with the luminosity -->
<!ELEMENT Sample (HistoSys | OverallSys | NormFactor | StatError | ShapeSys |
                  ShapeFactor)*>
<!ATTLIST Sample
  Name              CDATA        #REQUIRED
  HistoName         CDATA        #REQUIRED
  InputFile         CDATA        #REQUIRED
  NormalizeByTheory (True|False) #REQUIRED>

<!-- correlated shape variation: the low and high histograms -->
<!ELEMENT HistoSys EMPTY>
<!ATTLIST HistoSys
  Name          CDATA #REQUIRED
  HistoNameLow  CDATA #REQUIRED
  HistoNameHigh CDATA #REQUIRED>

<!-- normalisation variation: the factors at -1 and +1 sigma -->
<!ELEMENT OverallSys EMPTY>
<!ATTLIST OverallSys
  Name CDATA #REQUIRED
  Low  CDATA #REQUIRED
  High CDATA #REQUIRED>

<!-- free normalisation: initial value and range -->
<!ELEMENT NormFactor EMPTY>
<!ATTLIST NormFactor
  Name CDATA #REQUIRED
  Val  CDATA #REQUIRED
  Low  CDATA #REQUIRED
  High CDATA #REQUIRED>

<!-- MC statistical uncertainty: relative per-bin errors in HistoName -->
<!ELEMENT StatError EMPTY>
<!ATTLIST StatError
  Activate  (True|False) #REQUIRED
  HistoName CDATA        #REQUIRED>

<!-- uncorrelated per-bin uncertainty: relative errors in HistoName -->
<!ELEMENT ShapeSys EMPTY>
<!ATTLIST ShapeSys
  Name           CDATA              #REQUIRED
  ConstraintType (Gaussian|Poisson) #REQUIRED
  HistoName      CDATA              #REQUIRED>

<!-- free per-bin factors -->
<!ELEMENT ShapeFactor EMPTY>
<!ATTLIST ShapeFactor Name CDATA #REQUIRED>
"""
